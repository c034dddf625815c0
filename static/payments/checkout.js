// Mount Stripe's embedded Checkout; the session was created on our server for the chosen amount.
(function () {
  "use strict";
  var node = document.getElementById("checkout");
  if (!node || typeof Stripe === "undefined") return;
  var stripe = Stripe(node.dataset.key);
  stripe.initEmbeddedCheckout({ fetchClientSecret: function () { return Promise.resolve(node.dataset.clientSecret); } })
    .then(function (checkout) { checkout.mount("#checkout"); });
})();
