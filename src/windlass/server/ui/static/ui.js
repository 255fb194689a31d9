// windlass UI: theme toggle, project switcher, keyboard navigation of tables.
// Loaded on every page (no inline script: the page's CSP allows only this server's files).
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var THEME_KEY = "windlass-theme";

  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; }
  }
  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") { root.setAttribute("data-theme", theme); }
    else { root.removeAttribute("data-theme"); }
  }
  applyTheme(storedTheme());

  function currentTheme() {
    var set = root.getAttribute("data-theme");
    if (set) { return set; }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        var next = currentTheme() === "dark" ? "light" : "dark";
        applyTheme(next);
        try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* private mode */ }
        document.dispatchEvent(new CustomEvent("windlass:theme", { detail: next }));
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { if (select.value) { select.form.submit(); } });
    });
    // Run actions (shown to admins only): ask, then confirm; the REST API checks again.
    document.querySelectorAll("[data-run-actions]").forEach(function (box) {
      var ask = box.querySelector("[data-ask]"), confirmButton = box.querySelector("[data-confirm]");
      var cancel = box.querySelector("[data-cancel]"), result = box.querySelector("[data-action-result]");
      function asking(on) { ask.hidden = on; confirmButton.hidden = !on; cancel.hidden = !on; }
      ask.addEventListener("click", function () { asking(true); confirmButton.focus(); });
      cancel.addEventListener("click", function () { asking(false); ask.focus(); });
      confirmButton.addEventListener("click", function () {
        var run = encodeURIComponent(box.getAttribute("data-run"));
        var deleted = box.getAttribute("data-deleted") === "true";
        fetch("/api/v1/runs/" + run + (deleted ? "/restore" : ""), {
          method: deleted ? "POST" : "DELETE",
          credentials: "same-origin",
          headers: { "X-Windlass-Csrf": "1", Accept: "application/json" }
        }).then(function (response) {
          if (!response.ok) { return response.json().then(function (body) { throw new Error(body.message || response.status); }); }
          window.location.reload();
        }).catch(function (error) { result.textContent = "Refused: " + error.message; asking(false); });
      });
    });
    // Forms and links marked data-swap fetch their page and replace <main> only (the page
    // itself is the same either way: without JavaScript they load it whole).
    function swap(url, push) {
      var main = document.querySelector("main");
      main.setAttribute("aria-busy", "true");
      return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
        if (response.redirected || !(response.headers.get("content-type") || "").startsWith("text/html")) {
          window.location.assign(url);
          return null;
        }
        return response.text();
      }).then(function (html) {
        if (html === null) { return; }
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var fresh = parsed.querySelector("main");
        if (!fresh) { window.location.assign(url); return; }
        var focusedId = document.activeElement && document.activeElement.id;
        main.replaceWith(document.adoptNode(fresh));
        var refocus = focusedId && document.getElementById(focusedId);
        if (refocus) { refocus.focus(); }
        document.title = parsed.title;
        if (push) { history.pushState({ swapped: true }, "", url); }
        root.setAttribute("data-swaps", String((parseInt(root.getAttribute("data-swaps") || "0", 10) || 0) + 1));
      }).catch(function () { window.location.assign(url); });
    }
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches || !form.matches("form[data-swap]") || (form.method || "get").toLowerCase() !== "get") { return; }
      event.preventDefault();
      var action = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
      var query = new URLSearchParams(new FormData(form));
      swap(action.pathname + "?" + query.toString(), true);
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-swap]") : null;
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
      event.preventDefault();
      swap(link.getAttribute("href"), true);
    });
    window.addEventListener("popstate", function () { swap(window.location.href, false); });
    // Tables: j/k (or arrows with Alt) move between rows' first links; "/" focuses the filter.
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
      if (event.key === "/" && !typing) {
        var filter = document.querySelector("[data-filter-input]");
        if (filter) { event.preventDefault(); filter.focus(); filter.select(); }
        return;
      }
      if (typing || (event.key !== "j" && event.key !== "k")) { return; }
      var links = Array.prototype.slice.call(document.querySelectorAll("table[data-keyboard] tbody tr a.row-link"));
      if (!links.length) { return; }
      var at = links.indexOf(document.activeElement);
      var next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      if (at === -1) { next = 0; }
      links[next].focus();
      event.preventDefault();
    });
  });
})();
