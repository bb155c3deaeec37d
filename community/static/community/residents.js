// Counter pages: opening a "show full number" panel puts the cursor in its purpose field, so
// the whole reveal is keyboard only (Enter on the button, type, Enter). Escape closes it.
(function () {
  "use strict";
  document.querySelectorAll("details.reveal").forEach(function (panel) {
    panel.addEventListener("toggle", function () {
      if (panel.open) {
        var purpose = panel.querySelector("input[name=purpose]");
        if (purpose) { purpose.focus(); }
      }
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && panel.open) {
        panel.open = false;
        panel.querySelector("summary").focus();
      }
    });
  });
})();
