// windlass metric charts (uPlot): one run's series, or the same key over several runs.
// Reads /api/v1/runs/{id}/metric-series: the downsampled overview first, then, when the
// viewer drags to zoom, the visible step range again (full resolution once small enough).
(function () {
  "use strict";
  var MAX_POINTS = 2000;
  var PALETTE = ["#2357c6", "#d9480f", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#e67700", "#5c940d", "#862e9c", "#495057"];
  var settings = { log: false, smoothing: 0, xAxis: "step" };
  var charts = [];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }
  function number(v) {
    if (typeof v === "number") { return isFinite(v) ? v : null; }
    return null; // "NaN", "Infinity", "-Infinity": not drawable
  }
  function fetchSeries(run, key, minStep, maxStep) {
    var url = "/api/v1/runs/" + encodeURIComponent(run) + "/metric-series?key=" + encodeURIComponent(key) +
      "&max_points=" + MAX_POINTS;
    if (minStep !== null && minStep !== undefined) { url += "&min_step=" + minStep; }
    if (maxStep !== null && maxStep !== undefined) { url += "&max_step=" + maxStep; }
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("metric-series answered " + r.status); }
      return r.json();
    });
  }
  function smooth(values, alpha) {
    var out = new Array(values.length), s = null;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null) { out[i] = null; continue; }
      s = s === null ? v : alpha * s + (1 - alpha) * v;
      out[i] = s;
    }
    return out;
  }

  function Chart(el) {
    this.el = el;
    this.runs = (el.getAttribute("data-runs") || el.getAttribute("data-run") || "").split(",").filter(Boolean);
    var labels = el.getAttribute("data-labels");
    this.labels = labels ? JSON.parse(labels) : [el.getAttribute("data-label") || el.getAttribute("data-key")];
    this.key = el.getAttribute("data-key");
    this.overview = null; // one series answer per run
    this.shown = null;
    this.plot = null;
    this.quiet = false;
  }
  Chart.prototype.load = function () {
    var self = this;
    return Promise.all(this.runs.map(function (run) { return fetchSeries(run, self.key); })).then(function (answers) {
      self.overview = answers;
      self.shown = answers;
      self.el.setAttribute("data-resolution", answers.some(function (a) { return a.downsampled; }) ? "downsampled" : "full");
      self.draw();
    }).catch(function (error) {
      self.el.textContent = "Could not load this series: " + error.message;
    });
  };
  Chart.prototype.xs = function (answer) {
    return settings.xAxis === "time" ? answer.timestamps.map(function (t) { return t / 1000; }) : answer.steps;
  };
  Chart.prototype.data = function () {
    var self = this;
    var tables = this.shown.map(function (answer) {
      var ys = answer.values.map(number);
      if (settings.log) { ys = ys.map(function (v) { return v !== null && v > 0 ? v : null; }); }
      var columns = [self.xs(answer), ys];
      if (settings.smoothing > 0) { columns.push(smooth(ys, settings.smoothing)); }
      return columns;
    });
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  };
  Chart.prototype.options = function () {
    var fg = cssVar("--fg"), grid = cssVar("--line");
    var series = [{ label: settings.xAxis === "time" ? "time" : "step" }];
    var self = this;
    this.shown.forEach(function (_answer, i) {
      var color = PALETTE[i % PALETTE.length];
      var label = self.labels[i] || self.runs[i];
      series.push({ label: label, stroke: color, width: settings.smoothing > 0 ? 1 : 1.5, spanGaps: true,
        alpha: settings.smoothing > 0 ? 0.35 : 1 });
      if (settings.smoothing > 0) { series.push({ label: label + " (smoothed)", stroke: color, width: 2, spanGaps: true }); }
    });
    return {
      width: Math.max(this.el.clientWidth, 300),
      height: 240,
      scales: { x: { time: settings.xAxis === "time" }, y: { distr: settings.log ? 3 : 1 } },
      series: series,
      axes: [{ stroke: fg, grid: { stroke: grid } }, { stroke: fg, grid: { stroke: grid } }],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: { setScale: [this.onScale.bind(this)] }
    };
  };
  Chart.prototype.draw = function () {
    if (!this.shown) { return; }
    if (this.plot) { this.plot.destroy(); }
    this.el.textContent = "";
    this.plot = new uPlot(this.options(), this.data(), this.el);
  };
  Chart.prototype.extent = function () {
    var lo = Infinity, hi = -Infinity, self = this;
    this.overview.forEach(function (a) {
      var xs = self.xs(a);
      if (xs.length) { lo = Math.min(lo, xs[0]); hi = Math.max(hi, xs[xs.length - 1]); }
    });
    return [lo, hi];
  };
  Chart.prototype.stepRange = function (answer, min, max) {
    if (settings.xAxis === "step") { return [Math.floor(min), Math.ceil(max)]; }
    var first = null, last = null;
    for (var i = 0; i < answer.timestamps.length; i++) {
      var t = answer.timestamps[i] / 1000;
      if (t >= min && t <= max) { if (first === null) { first = answer.steps[i]; } last = answer.steps[i]; }
    }
    return first === null ? null : [first, last];
  };
  Chart.prototype.onScale = function (u, scaleKey) {
    if (scaleKey !== "x" || this.quiet || !this.overview) { return; }
    var min = u.scales.x.min, max = u.scales.x.max, full = this.extent(), self = this;
    if (min <= full[0] && max >= full[1]) {
      if (this.shown !== this.overview) { this.shown = this.overview; this.redata(false); }
      return;
    }
    if (!this.overview.some(function (a) { return a.downsampled; })) { return; }
    var ranges = this.overview.map(function (a) { return self.stepRange(a, min, max); });
    Promise.all(this.runs.map(function (run, i) {
      var range = ranges[i];
      return range ? fetchSeries(run, self.key, range[0], range[1]) : Promise.resolve(self.overview[i]);
    })).then(function (answers) {
      self.shown = answers;
      self.el.setAttribute("data-resolution", answers.some(function (a) { return a.downsampled; }) ? "downsampled" : "full");
      self.el.setAttribute("data-zoomed", "true");
      self.redata(true);
    }).catch(function (error) { self.el.setAttribute("data-error", error.message); });
  };
  Chart.prototype.redata = function (keepScale) {
    var u = this.plot, min = u.scales.x.min, max = u.scales.x.max;
    this.quiet = true;
    try {
      u.setData(this.data(), !keepScale);
      if (keepScale) { u.setScale("x", { min: min, max: max }); }
    } finally { this.quiet = false; }
  };

  function controls() {
    var box = document.querySelector("[data-chart-controls]");
    if (!box) { return; }
    var log = box.querySelector("[data-log-scale]"), slider = box.querySelector("[data-smoothing]");
    var out = box.querySelector("[data-smoothing-value]"), axis = box.querySelector("[data-x-axis]");
    function redraw() { charts.forEach(function (c) { c.draw(); }); }
    log.addEventListener("change", function () { settings.log = log.checked; redraw(); });
    slider.addEventListener("input", function () {
      settings.smoothing = parseFloat(slider.value) || 0; out.textContent = slider.value; redraw();
    });
    axis.addEventListener("change", function () {
      settings.xAxis = axis.value;
      charts.forEach(function (c) { c.shown = c.overview; });
      redraw();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-series]").forEach(function (el) {
      var chart = new Chart(el);
      charts.push(chart);
      chart.load();
    });
    controls();
    document.addEventListener("windlass:theme", function () { charts.forEach(function (c) { c.draw(); }); });
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () {
        charts.forEach(function (c) { if (c.plot) { c.plot.setSize({ width: Math.max(c.el.clientWidth, 300), height: 240 }); } });
      }, 150);
    });
  });
})();
