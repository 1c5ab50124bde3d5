// Plain JavaScript, no dependencies: table sorting, heatmap hover and click, arrow-key navigation.
(function () {
  "use strict";

  // Sortable tables: click a heading; click again to reverse.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      th.tabIndex = 0;
      th.classList.add("sort-key");
      th.setAttribute("aria-sort", "none");
      function sort() {
        var numeric = th.dataset.type === "number";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var cell = row.cells[column];
          var text = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
          if (!numeric) return text;
          var value = parseFloat(text);
          return isNaN(value) ? -Infinity : value;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  });

  // Heatmaps: the value under the pointer, and a click opens that row's filter page.
  var root = document.querySelector('link[rel="stylesheet"]').getAttribute("href").replace("static/style.css", "");
  document.querySelectorAll("figure.heatmap").forEach(function (figure) {
    var box = figure.querySelector(".heatmap-box");
    var out = figure.querySelector(".heatmap-value");
    var data = JSON.parse(figure.nextElementSibling.textContent);
    function cellAt(event) {
      var rect = box.getBoundingClientRect();
      var col = Math.floor((event.clientX - rect.left) / rect.width * data.maps);
      var row = Math.floor((event.clientY - rect.top) / rect.height * data.rows.length);
      if (row < 0 || row >= data.rows.length || col < 0 || col >= data.maps) return null;
      return { row: data.rows[row], col: col };
    }
    box.addEventListener("mousemove", function (event) {
      var cell = cellAt(event);
      if (!cell) return;
      var value = cell.row.values[cell.col];
      var own = cell.row.values[cell.row.index];
      out.textContent = "image of filter " + cell.row.index + ", map " + cell.col + ": " +
        (value === null ? "n/a" : value) + (cell.col === cell.row.index ? " (its own map)" : " (own map: " + own + ")");
    });
    box.addEventListener("click", function (event) {
      var cell = cellAt(event);
      if (cell) window.location.href = root + cell.row.page;
    });
  });

  // Layer pages with two methods: a toggle shows one method's grid, heatmap and table at a time.
  var buttons = document.querySelectorAll(".toggle button[data-method]");
  if (buttons.length) {
    document.documentElement.classList.add("js-toggle");
    var show = function (method) {
      document.querySelectorAll("section.method").forEach(function (section) {
        section.hidden = section.dataset.method !== method;
      });
      buttons.forEach(function (button) {
        button.setAttribute("aria-pressed", button.dataset.method === method ? "true" : "false");
      });
    };
    buttons.forEach(function (button) {
      button.addEventListener("click", function () { show(button.dataset.method); });
    });
    var wanted = (window.location.hash.match(/^#method-(\w+)$/) || [])[1];
    show(wanted && document.getElementById("method-" + wanted) ? wanted : buttons[0].dataset.method);
  }

  // Filter pages: left and right arrow keys move between filters.
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var target = event.key === "ArrowLeft" ? "prev" : event.key === "ArrowRight" ? "next" : null;
    if (!target) return;
    var link = document.querySelector('a[rel="' + target + '"]#' + target);
    if (link) window.location.href = link.href;
  });
})();
