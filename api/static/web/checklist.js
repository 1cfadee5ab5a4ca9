// A long checklist (the coordinator's handlers) gets a filter box: typing part of a name
// hides the names that do not match (ticked ones stay). Without this script every name
// is listed and the checkboxes work the same.
"use strict";
document.querySelectorAll("[data-checklist]").forEach(function (box) {
  var list = document.getElementById(box.dataset.checklist);
  var input = box.querySelector("input[type=search]");
  var status = box.querySelector("[role=status]");
  if (!list || !input) {
    return;
  }
  box.hidden = false;
  input.addEventListener("input", function () {
    var wanted = input.value.trim().toLowerCase();
    var shown = 0;
    list.querySelectorAll("li").forEach(function (item) {
      var ticked = item.querySelector("input:checked") !== null;
      var match = !wanted || item.textContent.toLowerCase().indexOf(wanted) !== -1;
      item.hidden = !(match || ticked);
      if (match) {
        shown += 1;
      }
    });
    if (status) {
      status.textContent = shown === 0 ? status.dataset.none : "";
    }
  });
  // Enter in the filter box must not send the form.
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
    }
  });
});
