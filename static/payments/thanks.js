// Tell the publisher's page (embed.js) that this reader is a supporter now.
(function () {
  "use strict";
  var message = {type: "reader-support:supporter"};
  try { if (window.parent && window.parent !== window) window.parent.postMessage(message, "*"); } catch (e) {}
  try { if (window.opener) window.opener.postMessage(message, "*"); } catch (e) {}
})();
