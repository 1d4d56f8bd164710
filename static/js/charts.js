// Draws every element with data-chart="<id>" from the JSON in <script id="<id>">.
// Chart data travels as json_script so that no inline script is needed (CSP).
(function () {
  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.Plotly) return;
      var spec = JSON.parse(source.textContent);
      var layout = Object.assign({ autosize: true, font: { family: "system-ui, sans-serif" } }, spec.layout || {});
      var drawn = window.Plotly.react(el, spec.data, layout, { responsive: true, displaylogo: false });
      // A "clickable" chart opens the address in the clicked point's customdata (the
      // people behind an RFM cell, say); only an address on this site.
      if (spec.clickable && !el.dataset.clickBound) {
        el.dataset.clickBound = "1";
        Promise.resolve(drawn).then(function () {
          el.on("plotly_click", function (event) {
            var url = event.points && event.points[0] && event.points[0].customdata;
            if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
              window.location.assign(url);
            }
          });
        });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
