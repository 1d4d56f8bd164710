// On a phone, tables stack (one cell under the other, app.css) and their header row is
// hidden: each body cell gets its column's header as data-label, which the stylesheet
// shows before the cell's content. Runs on every table of the page and again on each
// piece of content htmx adds (rows loaded on demand, swapped sections).
(function () {
  function headerNames(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    var names = [];
    if (!head) return names;
    Array.prototype.forEach.call(head.cells, function (cell) {
      for (var i = 0; i < cell.colSpan; i++) names.push(cell.textContent.replace(/\s+/g, " ").trim());
    });
    return names;
  }

  function labelTable(table) {
    var names = headerNames(table);
    if (!names.length) return;
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (cell.colSpan === 1 && names[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", names[column]);
          }
          column += cell.colSpan;
        });
      });
    });
  }

  function label(element) {
    if (!element || !element.querySelectorAll) return;
    var table = element.closest("table");
    if (table) return labelTable(table);
    element.querySelectorAll("table").forEach(labelTable);
  }

  document.addEventListener("DOMContentLoaded", function () { label(document.body); });
  document.addEventListener("htmx:load", function (event) { label(event.target); });
})();
