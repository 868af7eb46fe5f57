// "Lyssna": reads an answer aloud with the browser's own speech synthesis, in the answer's
// language. The button stays hidden where the browser cannot speak.
(function () {
  "use strict";
  if (!("speechSynthesis" in window) || !("SpeechSynthesisUtterance" in window)) return;

  function voiceFor(lang) {
    var prefix = lang.slice(0, 2).toLowerCase();
    return window.speechSynthesis.getVoices().find(function (voice) {
      return voice.lang.replace("_", "-").toLowerCase().indexOf(prefix) === 0;
    });
  }

  function setUp(button) {
    var label = button.querySelector(".listen-label");
    var startLabel = label.textContent;
    button.hidden = false;
    function reset() {
      button.removeAttribute("data-speaking");
      label.textContent = startLabel;
    }
    button.addEventListener("click", function () {
      if (button.hasAttribute("data-speaking")) {
        window.speechSynthesis.cancel();
        reset();
        return;
      }
      var target = document.querySelector(button.getAttribute("data-target"));
      if (!target) return;
      window.speechSynthesis.cancel();
      var utterance = new SpeechSynthesisUtterance(target.innerText);
      utterance.lang = button.getAttribute("data-lang");
      var voice = voiceFor(utterance.lang);
      if (voice) utterance.voice = voice;
      utterance.onend = reset;
      utterance.onerror = reset;
      button.setAttribute("data-speaking", "");
      label.textContent = button.getAttribute("data-label-stop");
      window.speechSynthesis.speak(utterance);
    });
  }

  function setUpAll() {
    document.querySelectorAll("button.listen[hidden]").forEach(setUp);
  }
  setUpAll();
  document.addEventListener("kb:results", setUpAll);
  // Chromium keeps speaking after the page is left unless told otherwise.
  window.addEventListener("pagehide", function () { window.speechSynthesis.cancel(); });
})();
