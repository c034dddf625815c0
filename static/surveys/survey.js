// Two small helps on the survey page; the page works without them.
// 1. Show a question only when its condition on an earlier answer on the same page holds (the
//    server checks the same conditions).
// 2. Keep what the reader typed on this page in localStorage until they send it, so a reload
//    before pressing "Next" loses nothing (pages already sent are kept by the server).
// 3. After a validation error, a reload shows the page, not the refused answers again.
(function () {
  "use strict";
  var form = document.querySelector(".rs-survey-form");
  if (!form) return;
  var conditions = JSON.parse(form.getAttribute("data-conditions") || "{}");
  var draft = form.querySelector('[name="draft"]').value;
  var page = form.querySelector('[name="page"]').value;
  var storageKey = "rs-survey:" + draft + ":" + page;

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "hidden" && el.type !== "submit" && el.name !== "website";
    });
  }
  function valuesOf(key) {
    var values = [];
    fields().forEach(function (el) {
      if (el.name !== key) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      values.push(el.value);
    });
    return values;
  }
  function updateConditions() {
    Object.keys(conditions).forEach(function (key) {
      var condition = conditions[key];
      var box = document.getElementById("q-" + key);
      if (!box || !form.querySelector('[name="' + condition.key + '"]')) return;
      box.hidden = valuesOf(condition.key).indexOf(condition.value) === -1;
    });
  }
  function save() {
    var saved = {};
    fields().forEach(function (el) { saved[el.name] = valuesOf(el.name); });
    try { localStorage.setItem(storageKey, JSON.stringify(saved)); } catch (e) { /* private mode */ }
  }
  function restore() {
    var saved;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    if (!saved) return;
    Object.keys(saved).forEach(function (name) {
      if (valuesOf(name).some(function (v) { return v !== ""; })) return; // the server's answer wins
      fields().forEach(function (el) {
        if (el.name !== name) return;
        if (el.type === "radio" || el.type === "checkbox") {
          el.checked = saved[name].indexOf(el.value) !== -1;
        } else if (saved[name].length) {
          el.value = saved[name][0];
        }
      });
    });
  }

  // A page shown after sending (a validation error) is the answer to a POST: a reload would
  // send the refused answers again. Make this history entry the page's plain address, so a
  // reload shows the page as it stands, plus what the reader changes from now on.
  var pageUrl = form.getAttribute("data-page-url");
  if (pageUrl && window.history && history.replaceState) {
    try { history.replaceState(null, "", pageUrl); } catch (e) { /* a sandboxed frame */ }
  }

  restore();
  form.addEventListener("change", function () { updateConditions(); save(); });
  form.addEventListener("input", save);
  form.addEventListener("submit", function () {
    try { localStorage.removeItem(storageKey); } catch (e) { /* private mode */ }
  });
  updateConditions();
  var summary = document.getElementById("rs-errors");
  if (summary) summary.focus();
})();
