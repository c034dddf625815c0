// Show a question only when its condition on an earlier answer on the same page holds.
// The server checks the same conditions, so this only spares the reader irrelevant questions.
(function () {
  "use strict";
  var form = document.querySelector(".rs-survey-form");
  if (!form) return;
  var conditions = JSON.parse(form.getAttribute("data-conditions") || "{}");
  function valuesOf(key) {
    var values = [];
    form.querySelectorAll('[name="' + key + '"]').forEach(function (el) {
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      if (el.type !== "hidden") values.push(el.value);
    });
    return values;
  }
  function update() {
    Object.keys(conditions).forEach(function (key) {
      var condition = conditions[key];
      var box = document.getElementById("q-" + key);
      if (!box || !form.querySelector('[name="' + condition.key + '"]')) return;
      box.hidden = valuesOf(condition.key).indexOf(condition.value) === -1;
    });
  }
  form.addEventListener("change", update);
  update();
  var summary = document.getElementById("rs-errors");
  if (summary) summary.focus();
})();
