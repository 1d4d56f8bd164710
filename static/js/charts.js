// Draws every element with data-chart="<id>" from the JSON in <script id="<id>">.
// Chart data travels as json_script so that no inline script is needed (CSP).
(function () {
  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.Plotly) return;
      var spec = JSON.parse(source.textContent);
      var layout = Object.assign({ autosize: true, font: { family: "system-ui, sans-serif" } }, spec.layout || {});
      window.Plotly.react(el, spec.data, layout, { responsive: true, displaylogo: false });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
