// Statistics charts: each chart is drawn from the table beside it (Apache ECharts, served by the app
// itself), so a chart never shows a number its table does not. Long tables chart their first rows.
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var MAX_ROWS = 20;
  var printing = document.body.classList.contains("print");
  var charts = [];

  function number(text) {
    var n = parseFloat(String(text).replace(/[^0-9.\-]/g, ""));
    return isNaN(n) ? 0 : n;
  }

  function read(table) {
    var heads = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) { return c.textContent; });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows, 0, MAX_ROWS);
    var series = (table.getAttribute("data-series") || "1").split(",").map(Number);
    return {
      labels: rows.map(function (r) { return r.cells[0].textContent; }),
      series: series.map(function (col) {
        return { name: heads[col], values: rows.map(function (r) { return number(r.cells[col].textContent); }) };
      })
    };
  }

  function option(kind, data) {
    var base = { animation: !printing, tooltip: { trigger: kind === "pie" ? "item" : "axis" },
                 grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true } };
    if (kind === "pie") {
      base.series = [{ type: "pie", radius: ["35%", "65%"], name: data.series[0].name,
        label: { formatter: "{b}: {c}" },
        data: data.labels.map(function (l, i) { return { name: l, value: data.series[0].values[i] }; }) }];
      return base;
    }
    var horizontal = kind === "bar" && data.labels.length > 6;
    var category = { type: "category", data: horizontal ? data.labels.slice().reverse() : data.labels,
                     axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
    base.legend = { show: data.series.length > 1, top: 0 };
    base.xAxis = horizontal ? { type: "value" } : category;
    base.yAxis = horizontal ? category : { type: "value", minInterval: 1 };
    base.series = data.series.map(function (s) {
      return { type: kind, name: s.name, data: horizontal ? s.values.slice().reverse() : s.values,
               smooth: kind === "line", label: { show: data.labels.length <= 12, position: horizontal ? "right" : "top" } };
    });
    return base;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".chart[data-table]"), function (box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    if (!table) { return; }
    var data = read(table);
    if (table.getAttribute("data-chart") === "bar" && data.labels.length > 6) {
      box.style.height = Math.max(240, data.labels.length * 26 + 60) + "px";
    }
    var chart = window.echarts.init(box, null, { renderer: "svg" });
    chart.setOption(option(table.getAttribute("data-chart"), data));
    box.setAttribute("data-drawn", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
