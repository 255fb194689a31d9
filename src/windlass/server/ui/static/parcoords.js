// windlass parallel coordinates: one vertical axis per param or metric, one line per run.
// Reads its data from the canvas's data-parcoords attribute (JSON, escaped by the page).
(function () {
  "use strict";
  var PALETTE = ["#2357c6", "#d9480f", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#e67700", "#5c940d", "#862e9c", "#495057"];

  function positions(axis) {
    // Each value's place on the axis, 0 (bottom) to 1 (top); null where the run has none.
    if (axis.numeric) {
      var nums = axis.values.filter(function (v) { return v !== null; });
      var lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums);
      return axis.values.map(function (v) { return v === null ? null : (hi === lo ? 0.5 : (v - lo) / (hi - lo)); });
    }
    var cats = [];
    axis.values.forEach(function (v) { if (v !== null && cats.indexOf(v) < 0) { cats.push(v); } });
    cats.sort();
    return axis.values.map(function (v) { return v === null ? null : (cats.length === 1 ? 0.5 : cats.indexOf(v) / (cats.length - 1)); });
  }
  function label(v) {
    if (v === null || v === undefined) { return ""; }
    if (typeof v === "number") { return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(4)); }
    return String(v).length > 14 ? String(v).slice(0, 13) + "…" : String(v);
  }
  function extremes(axis) {
    var vals = axis.values.filter(function (v) { return v !== null; });
    if (!vals.length) { return ["", ""]; }
    if (axis.numeric) { return [Math.min.apply(null, vals), Math.max.apply(null, vals)]; }
    vals = vals.slice().sort();
    return [vals[0], vals[vals.length - 1]];
  }
  function draw(canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-parcoords"));
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth, height = canvas.clientHeight;
    canvas.width = width * ratio; canvas.height = height * ratio;
    var ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    var style = getComputedStyle(document.documentElement);
    var fg = style.getPropertyValue("--fg").trim() || "#222", muted = style.getPropertyValue("--muted").trim() || "#777";
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px system-ui, sans-serif";
    var axes = spec.axes;
    if (!axes.length) { ctx.fillStyle = muted; ctx.fillText("No params differ and no metrics to plot.", 12, 24); return; }
    var top = 36, bottom = height - 44, left = 60, right = width - 60;
    var step = axes.length > 1 ? (right - left) / (axes.length - 1) : 0;
    var places = axes.map(positions);
    spec.runs.forEach(function (name, r) {
      ctx.strokeStyle = PALETTE[r % PALETTE.length];
      ctx.lineWidth = 2;
      ctx.beginPath();
      var drawing = false;
      axes.forEach(function (_axis, a) {
        var p = places[a][r];
        if (p === null) { drawing = false; return; }
        var x = left + a * step, y = bottom - p * (bottom - top);
        if (drawing) { ctx.lineTo(x, y); } else { ctx.moveTo(x, y); drawing = true; }
      });
      ctx.stroke();
    });
    ctx.textAlign = "center";
    axes.forEach(function (axis, a) {
      var x = left + a * step, ends = extremes(axis);
      ctx.strokeStyle = muted; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.fillStyle = fg;
      ctx.fillText(label(axis.name) + (axis.kind === "metric" ? " ●" : ""), x, top - 18);
      ctx.fillStyle = muted;
      ctx.fillText(label(ends[1]), x, top - 5);
      ctx.fillText(label(ends[0]), x, bottom + 16);
    });
    // Legend: run names in their colours.
    ctx.textAlign = "left";
    var lx = 8;
    spec.runs.forEach(function (name, r) {
      ctx.fillStyle = PALETTE[r % PALETTE.length];
      ctx.fillRect(lx, height - 10, 10, 6);
      ctx.fillStyle = fg;
      var text = label(name);
      ctx.fillText(text, lx + 14, height - 3);
      lx += 24 + ctx.measureText(text).width;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var canvases = document.querySelectorAll("canvas[data-parcoords]");
    canvases.forEach(draw);
    document.addEventListener("windlass:theme", function () { canvases.forEach(draw); });
    window.addEventListener("resize", function () { canvases.forEach(draw); });
  });
})();
