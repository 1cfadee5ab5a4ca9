// Staff pages (fund, audit, admin): a form with data-busy says so while the server works
// (the chain verification can take minutes) and is not sent twice.
"use strict";
document.querySelectorAll("form[data-busy]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (form.dataset.sent === "yes") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "yes";
    var status = form.querySelector("[role=status]");
    if (status) {
      status.textContent = form.dataset.busy;
    }
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
    });
  });
});
