// "Copy link" buttons (data-copy = the id of the field holding the text). Without JavaScript,
// or where the browser gives no clipboard, the button stays hidden and the field can be
// selected and copied by hand.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = button.parentElement.querySelector("[role=status]");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () { if (status) status.textContent = "Link copied"; },
        function () { field.select(); if (status) status.textContent = "Press Ctrl+C to copy"; }
      );
    });
  });
})();
