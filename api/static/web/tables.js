// Staff pages on a phone: every table in the page becomes one labelled card per row
// (the CSS of "table.stack" in web_base.html, under 40rem). Each cell is labelled with
// its column's heading, unless the template set a data-label itself; a table marked
// "no-stack" stays a table. Without this script a wide table scrolls inside itself.
"use strict";
(function () {
  function headings(table) {
    var head = table.tHead && table.tHead.rows[0];
    var labels = [];
    if (!head) {
      return labels;
    }
    Array.prototype.forEach.call(head.cells, function (cell) {
      var text = cell.textContent.replace(/\s+/g, " ").trim();
      for (var i = 0; i < (cell.colSpan || 1); i += 1) {
        labels.push(text);
      }
    });
    return labels;
  }

  document.querySelectorAll("main table").forEach(function (table) {
    if (table.classList.contains("no-stack")) {
      return;
    }
    var labels = headings(table);
    if (labels.length === 0) {
      return;
    }
    var rows = [];
    Array.prototype.forEach.call(table.tBodies, function (body) {
      rows = rows.concat(Array.prototype.slice.call(body.rows));
    });
    if (table.tFoot) {
      rows = rows.concat(Array.prototype.slice.call(table.tFoot.rows));
    }
    rows.forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        if (!cell.hasAttribute("data-label") && labels[column]) {
          cell.setAttribute("data-label", labels[column]);
        }
        column += cell.colSpan || 1;
      });
    });
    table.classList.add("stack");
  });
})();
