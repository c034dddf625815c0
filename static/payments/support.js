// The support page: show the presets of the chosen frequency, the fee cover in money, the total
// the reader will pay and how often, on the button too ("Give €10.00 monthly"), so nobody gives
// monthly by mistake. After an error, focus the summary at the top. The form works without it.
(function () {
  "use strict";
  var form = document.querySelector("[data-rs-support]");
  if (!form) return;
  var percent = parseFloat(form.dataset.feePercent), fixed = parseInt(form.dataset.feeFixed, 10);
  var symbol = form.dataset.symbol;
  var feeText = form.querySelector("[data-rs-fee]");
  var totalText = form.querySelector("[data-rs-total]");
  var give = form.querySelector("[data-rs-give]");
  var plain = give ? give.textContent : "";
  var how = {one_off: "once", monthly: "monthly", annual: "every year"};
  var formatter = null;
  try {
    formatter = new Intl.NumberFormat(document.documentElement.lang || "en", {
      style: "currency", currency: form.dataset.currency
    });
  } catch (e) { /* an old browser: the symbol and two decimals */ }

  function fee(minor) { return Math.ceil((minor + fixed) / (1 - percent / 100)) - minor; }
  function money(minor) {
    return formatter ? formatter.format(minor / 100) : symbol + (minor / 100).toFixed(2);
  }
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
  // "Other amount" only once "Other" is picked (or while it shows an error): a box to type in
  // below the presets read as a second, required question. Without this script it stays shown.
  var customField = form.querySelector("[data-rs-custom]");
  var customInput = form.querySelector("[name=custom_amount]");
  // Focus is not moved there: a keyboard reader arrowing through the amounts would be pulled
  // out of the group.
  function showCustom() {
    if (!customField) return;
    var picked = form.querySelector(".rs-frequency-panel:not([hidden]) input[name=amount]:checked");
    var wanted = (picked && picked.value === "custom") ||
      customInput.getAttribute("aria-invalid") === "true";
    customField.hidden = !wanted;
    customInput.disabled = !wanted;
  }
  function update() {
    var frequency = form.querySelector("input[name=frequency]:checked");
    form.querySelectorAll(".rs-frequency-panel").forEach(function (panel) {
      var active = frequency && panel.dataset.frequency === frequency.value;
      panel.hidden = !active;
      panel.querySelectorAll("input").forEach(function (input) { input.disabled = !active; });
      // Another frequency chosen: start from its own suggested amount.
      if (active && !panel.querySelector("input[name=amount]:checked")) {
        var suggested = panel.querySelector('input[name=amount][value="' + panel.dataset.default + '"]');
        if (suggested) suggested.checked = true;
      }
    });
    showCustom();
    var amount = chosenAmount();
    var cover = form.querySelector("[name=cover_fees]");
    var extra = amount > 0 && cover && cover.checked ? fee(amount) : 0;
    if (feeText) feeText.textContent = amount > 0 ? "(adds " + money(fee(amount)) + ")" : "";
    var often = frequency ? how[frequency.value] || "" : "";
    if (amount > 0 && often) {
      totalText.textContent = "You will pay " + money(amount + extra) + " " + often +
        (extra ? ": " + money(amount) + " and " + money(extra) + " for the card fees." : ".");
      give.textContent = "Give " + money(amount + extra) + " " + often;
    } else {
      totalText.textContent = "";
      give.textContent = plain;
    }
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
  var summary = document.getElementById("rs-errors");
  if (summary) summary.focus();
})();
