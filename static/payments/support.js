// Show the presets of the chosen frequency and the fee cover in money. The form works without it.
(function () {
  "use strict";
  var form = document.querySelector("[data-rs-support]");
  if (!form) return;
  var percent = parseFloat(form.dataset.feePercent), fixed = parseInt(form.dataset.feeFixed, 10);
  var symbol = form.dataset.symbol;
  var feeText = form.querySelector("[data-rs-fee]");

  function fee(minor) { return Math.ceil((minor + fixed) / (1 - percent / 100)) - minor; }
  function money(minor) { return symbol + (minor / 100).toFixed(2); }
  function chosenAmount() {
    var custom = form.querySelector("[name=custom_amount]");
    var picked = form.querySelector(".rs-frequency-panel:not([hidden]) input[name=amount]:checked");
    if (picked && picked.value !== "custom") return parseInt(picked.value, 10);
    var value = parseFloat((custom.value || "").replace(",", "."));
    return isNaN(value) ? 0 : Math.round(value * 100);
  }
  function update() {
    var frequency = form.querySelector("input[name=frequency]:checked");
    form.querySelectorAll(".rs-frequency-panel").forEach(function (panel) {
      var active = frequency && panel.dataset.frequency === frequency.value;
      panel.hidden = !active;
      panel.querySelectorAll("input").forEach(function (input) { input.disabled = !active; });
    });
    var amount = chosenAmount();
    if (feeText) feeText.textContent = amount > 0 ? "(adds " + money(fee(amount)) + ")" : "";
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
