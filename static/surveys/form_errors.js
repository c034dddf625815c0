// After a refused entry or claim, take the reader to the list of what to fix (the page works
// without it).
(function () {
  "use strict";
  var summary = document.getElementById("rs-errors");
  if (summary) summary.focus();
})();
