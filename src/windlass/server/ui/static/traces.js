// windlass traces: the trace waterfall (virtualised rows), span details on demand, cost charts.
// The trace page embeds its span skeleton as JSON; a clicked span's attributes come from
// GET /api/v1/projects/{p}/traces/{t}/spans/{s}. Every user string goes in as textContent.
(function () {
  "use strict";
  var ROW = 24, OVERSCAN = 10;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function ms(v) { return v < 10 ? v.toFixed(2) + " ms" : v < 1000 ? v.toFixed(0) + " ms" : (v / 1000).toFixed(2) + " s"; }

  // -- the waterfall ---------------------------------------------------------------------
  function Waterfall(box, data, onOpen) {
    var n = data.id.length, linked = new Array(n), children = new Array(n), depth = new Array(n), i;
    for (i = 0; i < n; i++) { linked[i] = []; children[i] = []; }
    var roots = [];
    for (i = 0; i < n; i++) {
      var p = data.parent[i];
      if (p >= 0 && p !== i) { linked[p].push(i); } else { roots.push(i); }
    }
    // The tree is what a walk from the roots reaches, each span once: spans whose parents
    // form a cycle (bad input) become roots instead of hanging the page.
    var seen = new Uint8Array(n), next = 0, stack = [];
    function walk(from) {
      seen[from] = 1; depth[from] = 0; stack.push(from);
      while (stack.length) {
        var at = stack.pop();
        for (var c = 0; c < linked[at].length; c++) {
          var child = linked[at][c];
          if (seen[child]) { continue; }
          seen[child] = 1; depth[child] = depth[at] + 1; children[at].push(child); stack.push(child);
        }
      }
    }
    roots.forEach(walk);
    for (; next < n; next++) { if (!seen[next]) { roots.push(next); walk(next); } }
    var end = 0;
    for (i = 0; i < n; i++) { end = Math.max(end, data.start[i] + data.duration[i]); }
    this.total = end || 1;
    this.data = data; this.children = children; this.roots = roots; this.depth = depth;
    this.collapsed = new Uint8Array(n); this.box = box; this.onOpen = onOpen;
    this.selected = -1; this.rows = [];
    box.textContent = "";
    this.spacer = el("div", "wf-spacer"); box.appendChild(this.spacer);
    this.layer = el("div", "wf-rows"); box.appendChild(this.layer);
    var self = this;
    box.addEventListener("scroll", function () { self.draw(); });
    box.addEventListener("click", function (event) {
      var toggle = event.target.closest("[data-toggle]");
      var row = event.target.closest("[data-row]");
      if (!row) { return; }
      var at = parseInt(row.getAttribute("data-row"), 10);
      if (toggle) { self.toggle(at); return; }
      self.select(at, true);
    });
    box.addEventListener("keydown", function (event) { self.key(event); });
    this.flatten();
  }
  Waterfall.prototype.flatten = function () {
    var out = [], stack = this.roots.slice().reverse(), ch = this.children, coll = this.collapsed;
    while (stack.length) {
      var at = stack.pop(); out.push(at);
      if (!coll[at]) { for (var c = ch[at].length - 1; c >= 0; c--) { stack.push(ch[at][c]); } }
    }
    this.rows = out;
    this.spacer.style.height = (out.length * ROW) + "px";
    this.draw();
  };
  Waterfall.prototype.draw = function () {
    var height = this.box.clientHeight || 600;
    // Clamped here: right after the rows shrink (collapse all) the box may still report the
    // old scroll offset, past the new end, which would draw no row at all.
    var top = Math.min(this.box.scrollTop, Math.max(0, this.rows.length * ROW - height));
    var first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    var last = Math.min(this.rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    var d = this.data, frag = document.createDocumentFragment();
    for (var r = first; r < last; r++) {
      var at = this.rows[r];
      var row = el("div", "wf-row kind-" + d.kind[at] + (d.status[at] === "error" ? " error" : "") + (at === this.selected ? " selected" : ""));
      row.setAttribute("data-row", String(at));
      row.setAttribute("role", "treeitem");
      row.setAttribute("aria-level", String(this.depth[at] + 1));
      row.setAttribute("aria-selected", at === this.selected ? "true" : "false");
      row.style.transform = "translateY(" + (r * ROW) + "px)";
      var label = el("div", "wf-label");
      label.style.paddingLeft = (4 + Math.min(this.depth[at], 40) * 14) + "px";
      if (this.children[at].length) {
        var t = el("button", "wf-toggle", this.collapsed[at] ? "▸" : "▾");
        t.type = "button"; t.tabIndex = -1; t.setAttribute("data-toggle", "");
        t.setAttribute("aria-label", (this.collapsed[at] ? "Expand " : "Collapse ") + d.name[at]);
        row.setAttribute("aria-expanded", this.collapsed[at] ? "false" : "true");
        label.appendChild(t);
      } else { label.appendChild(el("span", "wf-leaf", "·")); }
      label.appendChild(el("span", "wf-kind", d.kind[at]));
      label.appendChild(el("span", "wf-name", d.name[at]));
      row.appendChild(label);
      var lane = el("div", "wf-lane"), bar = el("div", "wf-bar");
      bar.style.left = (100 * d.start[at] / this.total) + "%";
      bar.style.width = Math.max(0.2, 100 * d.duration[at] / this.total) + "%";
      lane.appendChild(bar);
      lane.appendChild(el("span", "wf-time", ms(d.duration[at])));
      row.appendChild(lane);
      frag.appendChild(row);
    }
    this.layer.textContent = "";
    this.layer.appendChild(frag);
  };
  Waterfall.prototype.toggle = function (at) {
    if (!this.children[at].length) { return; }
    this.collapsed[at] = this.collapsed[at] ? 0 : 1;
    this.flatten();
  };
  Waterfall.prototype.setAll = function (value) {
    for (var i = 0; i < this.collapsed.length; i++) { this.collapsed[i] = this.children[i].length ? value : 0; }
    this.flatten();
  };
  Waterfall.prototype.select = function (at, open) {
    this.selected = at;
    var r = this.rows.indexOf(at);
    if (r >= 0) {
      var top = r * ROW, box = this.box;
      if (top < box.scrollTop) { box.scrollTop = top; }
      else if (top + ROW > box.scrollTop + box.clientHeight) { box.scrollTop = top + ROW - box.clientHeight; }
    }
    this.draw();
    if (open) { this.onOpen(at); }
  };
  Waterfall.prototype.key = function (event) {
    var r = this.rows.indexOf(this.selected), at = this.selected;
    if (event.key === "ArrowDown" || event.key === "j") { r = Math.min(this.rows.length - 1, r + 1); }
    else if (event.key === "ArrowUp" || event.key === "k") { r = Math.max(0, r - 1); }
    else if (event.key === "ArrowRight" && at >= 0) { if (this.collapsed[at]) { this.toggle(at); } event.preventDefault(); return; }
    else if (event.key === "ArrowLeft" && at >= 0) { if (!this.collapsed[at] && this.children[at].length) { this.toggle(at); } event.preventDefault(); return; }
    else if (event.key === "Enter" && at >= 0) { this.onOpen(at); event.preventDefault(); return; }
    else { return; }
    event.preventDefault();
    if (r < 0) { r = 0; }
    this.select(this.rows[r], false);
  };

  // -- a span's details ------------------------------------------------------------------
  function textOf(v) {
    if (v === null || v === undefined) { return ""; }
    if (typeof v === "string") { return v; }
    if (Array.isArray(v)) { return v.map(function (p) { return p && typeof p === "object" ? (p.text || p.content || JSON.stringify(p)) : String(p); }).join("\n"); }
    return JSON.stringify(v, null, 2);
  }
  function call(raw) {
    var f = raw && typeof raw.function === "object" && raw.function ? raw.function : (raw || {});
    var args = f.arguments;
    return { name: String(f.name || "tool"), args: typeof args === "string" ? args : JSON.stringify(args === undefined ? null : args, null, 2) };
  }
  function message(raw, role) {
    var m = { role: String(raw.role || role), text: "", calls: (raw.tool_calls || []).filter(Boolean).map(call) };
    if (Array.isArray(raw.parts)) {
      var texts = [];
      raw.parts.forEach(function (p) {
        if (!p || typeof p !== "object") { return; }
        if (p.type === "tool_call") { m.calls.push(call(p)); }
        else if (p.type === "tool_call_response") { texts.push(textOf(p.response || p.result)); }
        else { texts.push(textOf(p.content || p.text)); }
      });
      m.text = texts.filter(Boolean).join("\n");
    } else { m.text = textOf("content" in raw ? raw.content : raw.text); }
    return m;
  }
  // The chat messages an input or output holds (see windlass/server/ui/chat.py: same shapes).
  function messages(text, role) {
    if (!text) { return []; }
    var value;
    try { value = JSON.parse(text); } catch (e) { return [{ role: role, text: text, calls: [] }]; }
    if (value && typeof value === "object" && !Array.isArray(value) && Array.isArray(value.messages)) { value = value.messages; }
    if (value && typeof value === "object" && !Array.isArray(value) && ("role" in value || "parts" in value)) { value = [value]; }
    if (Array.isArray(value) && value.length && value.every(function (v) { return v && typeof v === "object" && !Array.isArray(v); })) {
      if (value.every(function (v) { return "role" in v || "parts" in v; })) { return value.slice(-50).map(function (v) { return message(v, role); }); }
      if (value.every(function (v) { return "name" in v || "function" in v; })) { return [{ role: "assistant", text: "", calls: value.slice(0, 50).map(call) }]; }
    }
    return [{ role: role, text: text, calls: [] }];
  }
  function bubble(m) {
    var known = ["user", "assistant", "system", "tool"].indexOf(m.role) >= 0 ? m.role : "other";
    var b = el("div", "bubble role-" + known);
    b.appendChild(el("div", "bubble-role", m.role));
    if (m.text) { b.appendChild(el("div", "bubble-text", m.text)); }
    m.calls.forEach(function (c) {
      var t = el("div", "tool-call");
      t.appendChild(el("span", "muted", "calls "));
      t.appendChild(el("code", "", c.name));
      t.appendChild(el("pre", "", c.args));
      b.appendChild(t);
    });
    return b;
  }
  function table(title, obj) {
    var keys = Object.keys(obj || {}).sort();
    var section = el("section", "span-attrs");
    section.appendChild(el("h3", "", title + " (" + keys.length + ")"));
    if (!keys.length) { section.appendChild(el("p", "muted", "none")); return section; }
    var t = el("table", "grid attrs"), body = el("tbody");
    keys.forEach(function (k) {
      var tr = el("tr"), th = el("th", "", k);
      th.scope = "row";
      var v = obj[k], td = el("td");
      td.appendChild(el(typeof v === "string" && v.length < 200 ? "span" : "pre", "", typeof v === "string" ? v : JSON.stringify(v, null, 2)));
      tr.appendChild(th); tr.appendChild(td); body.appendChild(tr);
    });
    t.appendChild(body); section.appendChild(t);
    return section;
  }
  function showSpan(panel, span) {
    panel.textContent = "";
    panel.appendChild(el("h2", "span-title", span.name));
    var facts = el("dl", "facts");
    function fact(k, v) { if (v === null || v === undefined || v === "") { return; } var d = el("div"); d.appendChild(el("dt", "", k)); d.appendChild(el("dd", "", v)); facts.appendChild(d); }
    fact("Kind", span.kind); fact("Status", span.status + (span.status_message ? ": " + span.status_message : ""));
    fact("Duration", ms(Math.max(0, span.end_time_ns - span.start_time_ns) / 1e6));
    fact("Model", span.model); fact("Provider", span.provider);
    if (span.input_tokens !== null || span.output_tokens !== null) { fact("Tokens", (span.input_tokens || 0) + " in · " + (span.output_tokens || 0) + " out"); }
    fact("Cost", span.cost === null ? null : "$" + span.cost.toFixed(6));
    if (span.prompt_name) { fact("Prompt", span.prompt_name + (span.prompt_version !== null ? "/" + span.prompt_version : "")); }
    fact("Span id", span.span_id);
    panel.appendChild(facts);
    if (span.kind === "tool") {
      var tool = el("section", "chat");
      tool.appendChild(el("h3", "", "Tool call"));
      tool.appendChild(bubble({ role: "assistant", text: "", calls: [{ name: span.name, args: span.input || "" }] }));
      tool.appendChild(bubble({ role: "tool", text: span.output || "", calls: [] }));
      panel.appendChild(tool);
    } else if (span.input || span.output) {
      var chat = el("section", "chat");
      chat.appendChild(el("h3", "", span.kind === "llm" ? "Messages" : "Input and output"));
      messages(span.input, "user").forEach(function (m) { chat.appendChild(bubble(m)); });
      messages(span.output, "assistant").forEach(function (m) { chat.appendChild(bubble(m)); });
      panel.appendChild(chat);
    }
    panel.appendChild(table("Attributes", span.attributes));
    if (span.events && span.events.length) {
      var ev = el("section", "span-events");
      ev.appendChild(el("h3", "", "Events (" + span.events.length + ")"));
      span.events.forEach(function (e) { ev.appendChild(table(e.name, e.attributes)); });
      panel.appendChild(ev);
    }
    panel.appendChild(table("Resource", span.resource));
  }

  function tracePage(view) {
    var data = JSON.parse(document.getElementById("trace-spans").textContent);
    var panel = view.querySelector("[data-span-detail]");
    var project = view.getAttribute("data-project"), trace = view.getAttribute("data-trace");
    var asked = 0;
    function open(at) {
      var spanId = data.id[at], mine = ++asked;
      panel.setAttribute("aria-busy", "true");
      var url = "/api/v1/projects/" + encodeURIComponent(project) + "/traces/" + trace + "/spans/" + spanId;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
        if (!r.ok) { throw new Error("the span answered " + r.status); }
        return r.json();
      }).then(function (span) {
        if (mine !== asked) { return; }
        showSpan(panel, span);
        panel.removeAttribute("aria-busy");
        var u = new URL(window.location.href); u.searchParams.set("span", spanId);
        history.replaceState(null, "", u.toString());
      }).catch(function (error) { panel.textContent = ""; panel.appendChild(el("p", "filter-error", String(error.message))); });
    }
    var box = view.querySelector("[data-waterfall]");
    var wf = new Waterfall(box, data, open);
    axis(view.querySelector("[data-axis]"), wf.total);
    view.querySelector("[data-expand-all]").addEventListener("click", function () { wf.setAll(0); });
    view.querySelector("[data-collapse-all]").addEventListener("click", function () { wf.setAll(1); });
    var wanted = view.getAttribute("data-selected");
    var at = wanted ? data.id.indexOf(wanted) : -1;
    if (at >= 0) { wf.select(at, true); }
    document.documentElement.setAttribute("data-trace-ready", "true");
    window.__waterfallReady = performance.now();
  }

  // -- cost charts -----------------------------------------------------------------------
  function costCharts() {
    var data = JSON.parse(document.getElementById("cost-data").textContent);
    if (typeof uPlot === "undefined") { return; }
    function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888"; }
    document.querySelectorAll("[data-cost-chart]").forEach(function (box) {
      var key = box.getAttribute("data-cost-chart"), measure = box.getAttribute("data-measure");
      var rows = data[key] || [];
      var xs = rows.map(function (_r, i) { return i; });
      var series = [{}], values = [xs];
      if (measure === "cost") {
        series.push({ label: "cost ($)", stroke: css("--accent"), fill: css("--accent") + "55" });
        values.push(rows.map(function (r) { return r.cost; }));
      } else {
        // Overlaid, not side by side: the total's bar, the input's drawn over it (the rest
        // of the total's bar is the output).
        series.push({ label: "total tokens", stroke: css("--warn"), fill: css("--warn") + "55" });
        series.push({ label: "input tokens", stroke: css("--good"), fill: css("--good") + "88" });
        values.push(rows.map(function (r) { return r.input_tokens + r.output_tokens; }));
        values.push(rows.map(function (r) { return r.input_tokens; }));
      }
      var names = rows.map(function (r) { return r.key; });
      var every = Math.max(1, Math.ceil(names.length / 10));
      var ticks = xs.filter(function (i) { return i % every === 0; });
      var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : null;
      series.forEach(function (s, i) { if (i && bars) { s.paths = bars; s.points = { show: false }; } });
      series[0] = { label: key, value: function (_u, v) { return v === null ? "--" : (names[Math.round(v)] || ""); } };
      new uPlot({
        width: Math.max(320, Math.min(box.clientWidth || 600, 700)), height: 220,
        title: (measure === "cost" ? "Cost" : "Tokens"),
        scales: {
          x: { time: false, range: function () { return [-0.5, names.length - 0.5]; } },
          y: { range: function (_u, _lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } }
        },
        series: series,
        axes: [
          { stroke: css("--muted"), grid: { show: false }, size: 40, splits: function () { return ticks; }, values: function (_u, at) { return at.map(function (t) { var n = names[Math.round(t)]; return n === undefined ? "" : (n.length > 18 ? n.slice(0, 17) + "…" : n); }); } },
          { stroke: css("--muted"), grid: { stroke: css("--line") } }
        ]
      }, values, box);
    });
    document.documentElement.setAttribute("data-charts", "ready");
  }

  // -- the traces list: the focused row is the selection, kept in the query string --------
  // Delegated from the document: a filter swaps the table (and <main>) in place.
  function tracesList(table) {
    document.addEventListener("focusin", function (event) {
      var row = event.target.closest ? event.target.closest("table.traces tr[data-trace-id]") : null;
      if (!row) { return; }
      document.querySelectorAll("table.traces tr.selected").forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      var u = new URL(window.location.href); u.searchParams.set("selected", row.getAttribute("data-trace-id"));
      history.replaceState(history.state, "", u.toString());
    });
    var chosen = table.querySelector("tr.selected a.row-link");
    if (chosen) { chosen.focus(); }
  }

  function axis(box, total) {
    box.textContent = "";
    for (var i = 0; i <= 4; i++) {
      var tick = el("span", "wf-tick", ms(total * i / 4));
      tick.style.left = (25 * i) + "%";
      box.appendChild(tick);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.querySelector("table.traces");
    if (list) { tracesList(list); }
    var view = document.querySelector("[data-trace-view]");
    if (view) { tracePage(view); }
    if (document.getElementById("cost-data")) { costCharts(); }
  });
})();
