// The report pages' one script, inlined into every page: sortable tables, chart hover that
// names a line, and the episode / env-step axis toggle. No framework, nothing fetched.
(function () {
  "use strict";

  // A cell's sort key: its leading number when it has one ("+1.2 [0.1, 2.0] ..." sorts as 1.2),
  // else its text; "–" (no value) sorts last either way.
  function key(cell) {
    var text = cell.textContent.trim();
    var m = text.match(/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?/i);
    return { missing: text === "–" || text === "", number: m ? parseFloat(m[0]) : NaN, text: text };
  }

  function compare(a, b) {
    if (a.missing !== b.missing) { return a.missing ? 1 : -1; }
    if (!isNaN(a.number) && !isNaN(b.number)) { return a.number - b.number; }
    return a.text.localeCompare(b.text, undefined, { numeric: true });
  }

  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r, s) {
      var a = key(r.cells[column]), b = key(s.cells[column]);
      var order = compare(a, b);
      if (a.missing !== b.missing) { return order; }
      return ascending ? order : -order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.querySelectorAll("table.sortable, .check table").forEach(function (table) {
    var head = table.tHead;
    if (!head || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () { sortBy(table, i, th); });
    });
    table.classList.add("sortable");
  });

  // Hovering a chart's line, band or point names its series: every series has its own colour
  // (the legend's), so the colour under the pointer says whose it is.
  var tip = document.createElement("div");
  tip.id = "tooltip";
  document.body.appendChild(tip);
  document.querySelectorAll("figure.chart[data-legend]").forEach(function (figure) {
    var names = {};
    JSON.parse(figure.getAttribute("data-legend")).forEach(function (entry) {
      var colour = entry[0].toUpperCase();
      names[colour] = names[colour] ? names[colour] + " / " + entry[1] : entry[1];
    });
    figure.addEventListener("mousemove", function (event) {
      var el = event.target;
      var colour = (el.getAttribute && (el.getAttribute("stroke") || el.getAttribute("fill")) || "").toUpperCase();
      var name = names[colour];
      if (name && el.tagName !== "text") {
        tip.textContent = name;
        tip.style.left = event.clientX + 12 + "px";
        tip.style.top = event.clientY + 12 + "px";
        tip.style.display = "block";
      } else {
        tip.style.display = "none";
      }
    });
    figure.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  });

  // The axis toggle: learning curves by training episode or by env step.
  document.querySelectorAll("[data-axis-choice]").forEach(function (button) {
    button.addEventListener("click", function () {
      var axis = button.getAttribute("data-axis-choice");
      document.body.setAttribute("data-axis", axis);
      document.querySelectorAll("[data-axis-choice]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-axis-choice") === axis));
      });
    });
  });
}());
