// Plain JavaScript, no dependencies: table sorting, heatmap zoom, hover and click, arrow-key navigation.
(function () {
  "use strict";

  // Sortable tables: click a heading; click again to reverse. The rows are read once; a sort
  // orders an array of positions by keys read once per column and re-appends the rows in one go.
  function sortable(table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var shown = rows.map(function (row, position) { return position; });
    var keys = {};
    var headers = table.querySelectorAll("thead th");
    function columnKeys(column, numeric) {
      if (!keys[column]) {
        keys[column] = rows.map(function (row) {
          var cell = row.cells[column];
          var text = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
          if (!numeric) return text;
          var value = parseFloat(text);
          return isNaN(value) ? -Infinity : value;
        });
      }
      return keys[column];
    }
    headers.forEach(function (th, column) {
      th.tabIndex = 0;
      th.classList.add("sort-key");
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var key = columnKeys(column, th.dataset.type === "number");
        shown.sort(function (a, b) {  // stable: ties keep their current order
          var x = key[a], y = key[b];
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        var fragment = document.createDocumentFragment();
        shown.forEach(function (position) { fragment.appendChild(rows[position]); });
        body.appendChild(fragment);
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  }
  document.querySelectorAll("table.sortable").forEach(sortable);

  var root = document.querySelector('link[rel="stylesheet"]').getAttribute("href").replace("static/style.css", "");

  // Heatmap zoom: buttons, or Ctrl + wheel (and a trackpad's pinch) at the pointer; the frame scrolls to pan.
  function zoomable(figure, maps) {
    var tools = figure.querySelector(".heatmap-tools");
    var scroll = figure.querySelector(".heatmap-scroll");
    var box = figure.querySelector(".heatmap-box");
    var label = figure.querySelector(".heatmap-zoom");
    var zoom = 1;
    function largest() {  // until a cell is at least 32 px wide
      var needed = 32 * maps / Math.max(scroll.clientWidth, 1);
      return Math.max(1, Math.pow(2, Math.ceil(Math.log(needed) / Math.LN2)));
    }
    function set(wanted, x, y) {  // x, y: the point (in the frame) that stays put
      var next = Math.min(largest(), Math.max(1, wanted));
      var fx = (scroll.scrollLeft + x) / (box.offsetWidth || 1), fy = (scroll.scrollTop + y) / (box.offsetHeight || 1);
      zoom = next;
      box.style.setProperty("--zoom", String(zoom));
      scroll.scrollLeft = fx * box.offsetWidth - x;
      scroll.scrollTop = fy * box.offsetHeight - y;
      label.textContent = "×" + Math.round(zoom * 10) / 10;
      tools.querySelector("[data-zoom=out]").disabled = zoom <= 1;
      tools.querySelector("[data-zoom=in]").disabled = zoom >= largest();
    }
    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var action = event.target.dataset && event.target.dataset.zoom;
      if (!action) return;
      var x = scroll.clientWidth / 2, y = Math.min(scroll.clientHeight, box.offsetHeight) / 2;
      set(action === "in" ? zoom * 2 : action === "out" ? zoom / 2 : 1, x, y);
    });
    scroll.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) return;
      event.preventDefault();
      var rect = scroll.getBoundingClientRect();
      // a wheel notch (100) doubles or halves; a pinch's many small steps zoom smoothly
      set(zoom * Math.pow(2, -Math.max(-100, Math.min(100, event.deltaY)) / 100),
          event.clientX - rect.left, event.clientY - rect.top);
    }, { passive: false });
    set(1, 0, 0);
  }

  // The values behind a heatmap: in the page, or (a large matrix) fetched from the public JSON once.
  function values(data, ready, failed) {
    if (!data.data || data.loaded) return ready();
    if (data.failed) return failed();
    if (data.loading) return;
    data.loading = fetch(root + data.data).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    }).then(function (record) {
      var cross = {};
      record.filters.forEach(function (f) { cross[f.index] = f.cross; });
      data.rows.forEach(function (row) {  // four significant digits, like the embedded values
        row.values = cross[row.index].map(function (v) { return v === null ? null : Number(v.toPrecision(4)); });
      });
      data.loaded = true;
      ready();
    }).catch(function () { data.failed = true; failed(); });
  }

  // Heatmaps: the value under the pointer, and a click opens that row's filter page.
  document.querySelectorAll("figure.heatmap").forEach(function (figure) {
    var box = figure.querySelector(".heatmap-box");
    var out = figure.querySelector(".heatmap-value");
    var data = JSON.parse(figure.nextElementSibling.textContent);
    var last = null;
    zoomable(figure, data.maps);
    function cellAt(event) {
      var rect = box.getBoundingClientRect();
      var col = Math.floor((event.clientX - rect.left) / rect.width * data.maps);
      var row = Math.floor((event.clientY - rect.top) / rect.height * data.rows.length);
      if (row < 0 || row >= data.rows.length || col < 0 || col >= data.maps) return null;
      return { row: data.rows[row], col: col };
    }
    function show() {
      var cell = last && cellAt(last);
      if (!cell) return;
      var value = cell.row.values[cell.col];
      var own = cell.row.values[cell.row.index];
      out.textContent = "image of filter " + cell.row.index + ", map " + cell.col + ": " +
        (value === null ? "n/a" : value) + (cell.col === cell.row.index ? " (its own map)" : " (own map: " + own + ")");
    }
    box.addEventListener("mousemove", function (event) {
      last = { clientX: event.clientX, clientY: event.clientY };
      if (!data.loaded && data.data) out.textContent = out.dataset.loading;
      values(data, show, function () { out.textContent = out.dataset.failed; });
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
