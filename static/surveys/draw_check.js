/* Check a prize draw in the reader's browser with Web Crypto, from what the page published:
 * that an entry id is among the entries frozen at close, and that the proof bundle gives the
 * published winners. Mirrors surveys/proof.py, the standard-library verifier offered beside it. */
(function () {
  "use strict";
  var section = document.querySelector("[data-draw-check]");
  if (!section) return;
  var subtle = window.crypto && window.crypto.subtle;
  var utf8 = new TextEncoder();
  var FORMAT = "reader-support-draw-proof/1";

  function published(name) {
    var node = document.querySelector('[data-published="' + name + '"]');
    return node ? node.textContent.trim() : "";
  }
  function say(which, text, ok) {
    var node = section.querySelector('[data-result="' + which + '"]');
    node.textContent = text;
    node.className = "rs-check-result " + (ok ? "is-ok" : ok === false ? "is-bad" : "");
  }
  function hex(bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }
  function fromHex(text) {
    if (!/^([0-9a-f]{2})+$/.test(text)) throw new Error("the seed is not hexadecimal");
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function sha256(bytes) { return subtle.digest("SHA-256", bytes).then(hex); }
  // Python sorts str by code point; entry ids are ASCII, where JavaScript's order is the same.
  function fingerprint(ids) { return sha256(utf8.encode(ids.slice().sort().join("\n"))); }
  function getJson(url) {
    return fetch(url, { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error("the server answered " + r.status);
      return r.json();
    });
  }
  function compareBytes(a, b) {
    for (var i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  function drawKey(bundle) {
    var seed = fromHex(bundle.seed);
    if (!bundle.public_randomness) return Promise.resolve(seed);
    var extra = utf8.encode(bundle.public_randomness);
    var both = new Uint8Array(seed.length + extra.length);
    both.set(seed); both.set(extra, seed.length);
    return subtle.digest("SHA-256", both).then(function (d) { return new Uint8Array(d); });
  }

  function ranking(bundle, places) {
    return drawKey(bundle).then(function (key) {
      return subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    }).then(function (key) {
      return Promise.all(bundle.entries.map(function (id) {
        return subtle.sign("HMAC", key, utf8.encode(id)).then(function (score) {
          return { id: id, score: new Uint8Array(score) };
        });
      }));
    }).then(function (scored) {
      scored.sort(function (a, b) {
        return compareBytes(a.score, b.score) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      });
      return scored.slice(0, places).map(function (s) { return s.id; });
    });
  }

  function checkEntry(event) {
    event.preventDefault();
    var input = section.querySelector("#rs-entry-id");
    var id = input.value.trim().toLowerCase();
    if (!id) {
      input.setAttribute("aria-invalid", "true");
      say("entry", "Please type the entry id from your confirmation e-mail.", false);
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    say("entry", "Checking…");
    getJson(section.dataset.entriesUrl).then(function (frozen) {
      return fingerprint(frozen.entries).then(function (digest) {
        if (digest !== published("fingerprint")) {
          say("entry", "The list of entries does not match the fingerprint published at close. "
            + "Please tell us: this should never happen.", false);
        } else if (frozen.entries.indexOf(id) >= 0) {
          say("entry", "Yes: entry " + id + " is one of the " + frozen.entries.length
            + " entries frozen when entries closed.", true);
        } else {
          say("entry", "Entry " + id + " is not among the " + frozen.entries.length
            + " entries frozen at close. Check the id in your e-mail; an entry counts only "
            + "once it was confirmed before entries closed.", false);
        }
      });
    }).catch(function (error) {
      say("entry", "The check could not be done (" + error.message + "). Please try again.", false);
    });
  }

  function step(text, ok) {
    var li = document.createElement("li");
    li.textContent = (ok ? "✓ " : "✗ ") + text;
    li.className = ok ? "is-ok" : "is-bad";
    section.querySelector('[data-result="steps"]').appendChild(li);
    return ok;
  }

  function verifyDraw(button) {
    section.querySelector('[data-result="steps"]').textContent = "";
    say("draw", "Verifying…");
    button.disabled = true;
    getJson(section.dataset.proofUrl).then(function (bundle) {
      var places = Number(bundle.winners_count) + Number(bundle.reserves_count);
      var ok = step("The bundle is in the published format.", bundle.format === FORMAT);
      return sha256(fromHex(bundle.seed)).then(function (commitment) {
        ok = step("The revealed seed matches the commitment published when entries opened.",
          commitment === bundle.commitment && commitment === published("commitment")) && ok;
        return fingerprint(bundle.entries);
      }).then(function (digest) {
        var distinct = new Set(bundle.entries).size === bundle.entries.length;
        ok = step("The " + bundle.entries.length + " entries are the ones frozen at close "
          + "(same count, same fingerprint, no id twice).",
          distinct && digest === bundle.entries_fingerprint
            && digest === published("fingerprint")
            && bundle.entries.length === bundle.entries_count) && ok;
        return ranking(bundle, places);
      }).then(function (expected) {
        ok = step("Redoing the draw gives the same " + bundle.winners_count + " winners and "
          + bundle.reserves_count + " reserves, in the same order.",
          expected.join() === bundle.ranking.join()) && ok;
        say("draw", ok ? "Verified: this draw was run as published."
          : "Not verified: see the step marked ✗.", ok);
      });
    }).catch(function (error) {
      say("draw", "Not verified: the proof bundle could not be checked (" + error.message + ").",
        false);
    }).then(function () { button.disabled = false; });
  }

  if (!subtle) {
    say("entry", "This browser cannot run the checks here. Download the proof bundle and the "
      + "verifier instead.", false);
    return;
  }
  section.querySelector(".rs-check-entry").addEventListener("submit", checkEntry);
  var verify = section.querySelector(".rs-verify");
  if (verify) verify.addEventListener("click", function () { verifyDraw(verify); });
})();
