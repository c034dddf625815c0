// The thank-you page: tell the publisher's page (embed.js) that this reader is a supporter now,
// and while the payment is being confirmed ask the server quietly (no reload) and announce the
// result in the page's live region.
(function () {
  "use strict";
  var message = {type: "reader-support:supporter"};
  try { if (window.parent && window.parent !== window) window.parent.postMessage(message, "*"); } catch (e) {}
  try { if (window.opener) window.opener.postMessage(message, "*"); } catch (e) {}

  var region = document.querySelector("[data-rs-thanks][data-status-url]");
  if (!region || !window.fetch) return;
  var url = region.dataset.statusUrl, delay = 2000, deadline = Date.now() + 120000;

  function say(status, text) {
    var p = document.createElement("p");
    p.className = status === "failed" ? "rs-alert" : "rs-ok";
    p.dataset.rsStatus = status;
    p.textContent = text;
    region.replaceChildren(p);
  }
  function ask() {
    fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (answer) {
        if (answer.status === "confirmed") return say("confirmed", region.dataset.confirmedText);
        if (answer.status === "failed") return say("failed", region.dataset.failedText);
        next();
      })
      .catch(next);
  }
  function next() {
    if (Date.now() > deadline) return say("processing", region.dataset.slowText);
    delay = Math.min(delay * 1.5, 10000);
    setTimeout(ask, delay);
  }
  setTimeout(ask, delay);
})();
