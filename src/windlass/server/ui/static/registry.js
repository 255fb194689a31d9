// windlass registry pages: a prompt's render preview, a deployment's confirmed actions and
// its traffic charts (uPlot). Every call goes to the REST API the SDK uses; changes carry
// the X-Windlass-Csrf header a cookie-authenticated change needs. User text is only ever
// set as textContent.
(function () {
  "use strict";
  var PALETTE = ["#2357c6", "#d9480f", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#e67700", "#5c940d"];

  function api(method, url, body) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") { init.headers["X-Windlass-Csrf"] = "1"; }
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.message || String(response.status)); }
        return answer;
      });
    });
  }
  function projectUrl(el, kind) {
    return "/api/v1/projects/" + encodeURIComponent(el.getAttribute("data-project")) + "/" + kind + "/" +
      encodeURIComponent(el.getAttribute(kind === "prompts" ? "data-prompt" : "data-deployment"));
  }

  // -- prompt render preview --------------------------------------------------------------
  function variableValue(field) {
    var text = field.value, type = field.getAttribute("data-type");
    if (type === "str") { return text; }
    try { return JSON.parse(text); } catch (e) {
      if (type === "any") { return text; }
      throw new Error(field.getAttribute("data-variable") + ": not a " + type + " (JSON expected)");
    }
  }
  function showRendered(box, answer) {
    box.textContent = "";
    var parts = answer.kind === "text" ? [{ role: null, content: answer.text }] : answer.messages;
    parts.forEach(function (part) {
      var block = document.createElement("div");
      block.className = "message";
      if (part.role) {
        var role = document.createElement("span");
        role.className = "chip";
        role.textContent = part.role;
        block.appendChild(role);
      }
      var pre = document.createElement("pre");
      pre.className = "rendered";
      pre.setAttribute("data-rendered", "");
      pre.textContent = part.content;
      block.appendChild(pre);
      box.appendChild(block);
    });
  }
  function setupPreview(form) {
    var box = document.querySelector("[data-render-result]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var variables = {};
      try {
        form.querySelectorAll("[data-variable]").forEach(function (field) {
          if (field.value === "" && field.getAttribute("data-type") !== "str") { return; }
          variables[field.getAttribute("data-variable")] = variableValue(field);
        });
      } catch (error) { box.textContent = error.message; return; }
      var body = { version: parseInt(form.getAttribute("data-version"), 10), variables: variables };
      box.setAttribute("aria-busy", "true");
      api("POST", projectUrl(form, "prompts") + "/render", body).then(function (answer) {
        showRendered(box, answer);
      }).catch(function (error) {
        box.textContent = "Could not render: " + error.message;
      }).then(function () { box.removeAttribute("aria-busy"); });
    });
  }

  // -- deployment actions (rendered for admins only; the REST API checks again) -------------
  function setupActions(section) {
    var dialog = section.querySelector("[data-confirm-dialog]");
    if (!dialog) { return; }
    var text = dialog.querySelector("[data-confirm-text]");
    var result = section.querySelector("[data-action-result]");
    var base = projectUrl(section, "deployments");
    var revision = parseInt(section.getAttribute("data-revision-number"), 10);
    var pending = null;
    function ask(message, call) {
      pending = call;
      text.textContent = message;
      dialog.showModal();
    }
    dialog.addEventListener("close", function () {
      var call = pending;
      pending = null;
      if (dialog.returnValue !== "confirm" || !call) { return; }
      call().then(function () { window.location.reload(); }).catch(function (error) {
        result.textContent = "Refused: " + error.message;
      });
    });
    section.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = button.getAttribute("data-action");
        if (action === "promote") {
          var variant = button.getAttribute("data-variant-name");
          ask("Send all traffic to " + variant + "?", function () {
            return api("POST", base + "/promote", { variant: variant, expected_revision: revision });
          });
        } else if (action === "weights") {
          var weights = {}, parts = [];
          section.querySelectorAll("[data-weight]").forEach(function (input) {
            weights[input.getAttribute("data-weight")] = Number(input.value);
            parts.push(input.getAttribute("data-weight") + " = " + input.value);
          });
          ask("Set weights: " + parts.join(", ") + "?", function () {
            return api("PATCH", base, { weights: weights, expected_revision: revision });
          });
        } else if (action === "rollback") {
          ask("Roll back to the previous revision's variants and shadow?", function () {
            return api("POST", base + "/rollback", { expected_revision: revision });
          });
        }
      });
    });
  }

  // -- traffic charts ------------------------------------------------------------------------
  function setupTraffic(box) {
    var url = projectUrl(box, "deployments") + "/traffic?minutes=" + encodeURIComponent(box.getAttribute("data-minutes")) +
      "&buckets=" + encodeURIComponent(box.getAttribute("data-buckets"));
    var summary = document.querySelector("[data-traffic-summary]");
    api("GET", url).then(function (answer) {
      var times = answer.times.map(function (t) { return t / 1000; });
      var perMinute = 60000 / answer.bucket_ms;
      var picks = {
        rate: function (v) { return v.requests.map(function (n) { return n * perMinute; }); },
        mean: function (v) { return v.mean_latency_ms; },
        p95: function (v) { return v.p95_latency_ms; }
      };
      var total = 0;
      answer.variants.forEach(function (v) { v.requests.forEach(function (n) { total += n; }); });
      summary.textContent = total + " logged requests in the window" + (answer.truncated ? " (only the newest were read)" : "") + ".";
      box.setAttribute("data-total", String(total));
      box.querySelectorAll("[data-traffic-chart]").forEach(function (el) {
        var pick = picks[el.getAttribute("data-traffic-chart")];
        var series = [{}], data = [times];
        answer.variants.forEach(function (v, i) {
          series.push({ label: v.variant + (v.shadow ? " (shadow)" : ""), stroke: PALETTE[i % PALETTE.length], spanGaps: false });
          data.push(pick(v));
        });
        el.textContent = "";
        var width = Math.max(320, el.clientWidth || 500);
        new uPlot({ width: width, height: 220, series: series, scales: { x: { time: true } } }, data, el);
        el.setAttribute("data-drawn", "true");
      });
    }).catch(function (error) {
      summary.textContent = "No traffic to show: " + error.message;
      box.setAttribute("data-total", "error");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-render-preview]").forEach(setupPreview);
    document.querySelectorAll("[data-deployment-actions]").forEach(setupActions);
    document.querySelectorAll("[data-traffic]").forEach(setupTraffic);
  });
})();
