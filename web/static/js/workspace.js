// Keyboard-first workspace: "/" focuses the search, arrows move through the hits, Enter opens
// (a plain link), "c" copies the answer's text for an e-mail reply, Esc goes back to the search.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var status = document.getElementById("copy-status");

  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function hitLinks() {
    return Array.from(document.querySelectorAll("#hit-list .hit-title"));
  }

  function say(key) {
    if (!status) return;
    status.textContent = "";
    // A short pause so screen readers announce the same message twice in a row.
    window.setTimeout(function () { status.textContent = status.getAttribute(key) || ""; }, 30);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var done = document.execCommand("copy");
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text, from) {
    var write = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); })
      : fallbackCopy(text);
    write.then(function () { say("data-copied"); }, function () { say("data-failed"); });
    if (from && from.focus) from.focus();
  }

  function textToCopy(active) {
    var hit = active && active.closest ? active.closest(".hit") : null;
    if (hit) return hit.getAttribute("data-copy");
    var page = document.querySelector("[data-copy-text]");
    return page ? page.getAttribute("data-copy-text") : null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    var links = hitLinks();
    var index = links.indexOf(active);
    if (event.key === "/" && !typing(active)) {
      event.preventDefault();
      if (input) { input.focus(); input.select(); } else { window.location.href = document.getElementById("back-link").href; }
    } else if (event.key === "ArrowDown" && (active === input || index >= 0) && links.length) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) input.focus(); else links[index - 1].focus();
    } else if (event.key === "Escape" && index >= 0) {
      input.focus();
    } else if ((event.key === "c" || event.key === "C") && !typing(active)) {
      var text = textToCopy(active);
      if (text) {
        event.preventDefault();
        copy(text, active);
      }
    }
  });

  var button = document.getElementById("copy-answer");
  if (button) {
    button.addEventListener("click", function () { copy(textToCopy(null), button); });
  }
})();
