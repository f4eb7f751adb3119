// Click a column header of a table with class "sortable" to sort its rows (again: reverse).
// Numbers sort as numbers ("0.705 [0.590, 0.820]" by its first number, "1,234" without commas).
document.addEventListener("DOMContentLoaded", function () {
  function key(cell) {
    var text = cell.textContent.trim();
    var m = text.replace(/,(?=\d{3})/g, "").match(/^[-+]?\d*\.?\d+(e[-+]?\d+)?/i);
    return m ? parseFloat(m[0]) : text.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    if (!table.tHead || !body) { return; }
    var headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(headers, function (th, col) {
      th.style.cursor = "pointer";
      th.title = "sort";
      th.addEventListener("click", function () {
        var asc = th.dataset.order !== "asc";
        Array.prototype.forEach.call(headers, function (h) { delete h.dataset.order; });
        th.dataset.order = asc ? "asc" : "desc";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
});
