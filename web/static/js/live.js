// Search as you type. The form works on its own (GET, server-rendered results); this only
// fetches the same server-rendered results region, as HTML inside JSON, while the user types.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live]");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var input = form.querySelector("input[name=q]");
  var results = document.querySelector(form.getAttribute("data-results"));
  var status = document.querySelector(form.getAttribute("data-status"));
  var inline = form.hasAttribute("data-inline-submit");
  var timer = null;
  var controller = null;
  var shown = null;

  function query() {
    var data = new URLSearchParams(new FormData(form));
    Array.from(data.keys()).forEach(function (key) { if (!data.get(key)) data.delete(key); });
    return data.toString();
  }

  function update(force) {
    var key = query();
    if (key === shown && !force) return;
    if (controller) controller.abort();
    if (!input.value.trim()) {
      shown = key;
      results.innerHTML = "";
      results.removeAttribute("data-query");
      if (status) status.textContent = "";
      return;
    }
    controller = window.AbortController ? new AbortController() : null;
    fetch(form.getAttribute("data-live") + "?" + key, {
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (reply) {
      shown = key;
      if (!reply.ok) {
        if (status) status.textContent = reply.body.message || "";
        return;
      }
      // The HTML comes from our own templates, escaped there; no text from the user is inserted raw.
      results.innerHTML = reply.body.html;
      results.setAttribute("data-query", reply.body.query);
      if (status) status.textContent = reply.body.status || "";
      window.history.replaceState(null, "", form.getAttribute("action") + "?" + key);
      document.dispatchEvent(new CustomEvent("kb:results"));
    }).catch(function () { /* aborted or offline: the form still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 120);
  });
  form.addEventListener("change", function (event) {
    if (event.target !== input) update();
  });
  if (inline) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      update(true);
    });
  }
})();
