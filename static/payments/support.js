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
    // The same rule as the server (payments.money.money_parse): digits, one separator, 2 decimals.
    var typed = (custom.value || "").trim().replace(symbol, "").trim();
    var match = /^([0-9]{1,9})(?:[.,]([0-9]{1,2}))?$/.exec(typed);
    if (!match) return 0;
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
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
