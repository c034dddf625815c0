/* Reader support appeal. One tag on the publisher's page:
 *   <script src="https://SERVICE/embed.js" async data-section="news" data-tags="a,b"
 *           data-article-id="123" data-author="x" data-sensitive="false"></script>
 * Markers the page may carry: [data-reader-support-epic], [data-reader-support-survey].
 * Never blocks or breaks the page: every failure is silent. Reader state stays in localStorage. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__readerSupport) return;
  window.__readerSupport = 1;
  var DAY = 864e5, KEY = "reader-support", base, data = script.dataset, now = Date.now();
  try { base = new URL(script.src).origin; } catch (e) { return; }

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save(s) {
    try { localStorage.setItem(KEY, JSON.stringify(s)); } catch (e) { /* private mode */ }
  }
  function update(fn) { var s = load(); fn(s); save(s); }
  function markSupporter() {
    update(function (s) { s.sup = Date.now(); });
    var hosts = document.querySelectorAll("[data-reader-support-host]");
    for (var i = 0; i < hosts.length; i++) hosts[i].remove();
  }

  // Only our own pages (the thank-you page, framed or opened from here) may say "supporter":
  // any other window could otherwise switch the appeals off for this reader.
  window.addEventListener("message", function (e) {
    if (e.origin !== base) return;
    if (e.data && e.data.type === "reader-support:supporter") markSupporter();
  });

  var state = load(), article = data.articleId || location.pathname;
  if (!state.id) {
    state.id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + now);
    state.first = now;
  }
  state.c = state.c || {};
  // Articles read: [time, article], the last 100 within 90 days, one entry per article a day.
  state.reads = (state.reads || []).filter(function (r) { return now - r[0] < 90 * DAY; });
  if (!state.reads.some(function (r) { return r[1] === article && now - r[0] < DAY; })) {
    state.reads.push([now, article]);
  }
  state.reads = state.reads.slice(-100);
  if (location.hash === "#rs-supporter") state.sup = now;
  save(state);
  if (data.sensitive === "true" || data.sensitive === "1") return;

  var preview = new URLSearchParams(location.search).get("rs_preview");
  var epicMarker = document.querySelector("[data-reader-support-epic]");
  var surveyMarker = document.querySelector("[data-reader-support-survey]");
  var placements = ["banner"];
  if (epicMarker) placements.push("epic");
  if (surveyMarker) placements.push("survey");

  function history() {
    var out = [];
    Object.keys(state.c).forEach(function (slug) {
      var c = state.c[slug];
      c.v = (c.v || []).filter(function (t) { return now - t < 90 * DAY; }).slice(-50);
      var ages = c.v.map(function (t) { return Math.max(0, Math.round((now - t) / 1e3)); });
      var dismissed = c.d ? Math.max(0, Math.round((now - c.d) / 1e3)) : "";
      out.push(slug + "~" + dismissed + "~" + ages.join(","));
    });
    return out.slice(-30).join(".");
  }

  var width = window.innerWidth;
  var firstDay = new Date(state.first); firstDay.setHours(0, 0, 0, 0);
  var query = new URLSearchParams({
    placements: placements.join(","),
    url: location.pathname,
    section: data.section || "",
    tags: data.tags || "",
    device: width < 640 ? "mobile" : width < 1024 ? "tablet" : "desktop",
    rid: state.id,
    returning: now - firstDay.getTime() >= DAY ? "1" : "0",
    supporter: state.sup ? "1" : "0",
    reads: state.reads.map(function (r) { return Math.floor((now - r[0]) / DAY); }).join(","),
    history: history()
  });
  if (preview) query.set("preview", preview);
  var controller = window.AbortController ? new AbortController() : null;
  if (controller) setTimeout(function () { controller.abort(); }, 4000);

  fetch(base + "/api/decision/?" + query, {
    credentials: "omit", signal: controller && controller.signal
  }).then(function (r) { return r.ok ? r.json() : {}; }).then(function (answer) {
    var appeals = answer.appeals || {};
    if (appeals.banner) render(appeals.banner, bannerHost(appeals.banner));
    if (appeals.epic && epicMarker && epicFits()) render(appeals.epic, hostIn(epicMarker));
    if (appeals.survey && surveyMarker) render(appeals.survey, hostIn(surveyMarker), true);
  }).catch(function () { /* the service is down or slow: show nothing */ });

  // Content already on screen must not move: fill the epic's marker only below the fold,
  // or where the page reserved room for it.
  function epicFits() {
    return epicMarker.getBoundingClientRect().top >= window.innerHeight
      || epicMarker.offsetHeight > 0;
  }

  function hostIn(parent) {
    var host = document.createElement("div");
    host.setAttribute("data-reader-support-host", "");
    parent.appendChild(host);
    return host;
  }

  function bannerHost(appeal) {
    var host = hostIn(document.body);
    host.style.cssText = "position:fixed;left:0;right:0;z-index:2147483000;"
      + (appeal.position === "top" ? "top:0" : "bottom:0");
    return host;
  }

  function beacon(appeal, event) {
    if (appeal.preview) return;
    var body = JSON.stringify({
      campaign: appeal.campaign, variant: appeal.variant,
      placement: appeal.placement, event: event
    });
    try {
      if (!navigator.sendBeacon || !navigator.sendBeacon(base + "/api/events/", body)) {
        fetch(base + "/api/events/", { method: "POST", body: body, keepalive: true,
          credentials: "omit" }).catch(function () {});
      }
    } catch (e) { /* ignore */ }
  }

  function campaignState(s, slug) { return (s.c[slug] = s.c[slug] || {}); }

  function money(minor, currency) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, {
        style: "currency", currency: currency,
        minimumFractionDigits: minor % 100 ? 2 : 0
      }).format(minor / 100);
    } catch (e) { return (minor / 100) + " " + currency; }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  function link(appeal, path, params) {
    var url = new URL(path, base);
    params.variant = appeal.variant;
    params.placement = appeal.placement;
    params.article = location.href.split("#")[0];
    for (var k in params) url.searchParams.set(k, params[k]);
    return url.href;
  }

  var LABELS = { one_off: "One-off", monthly: "Monthly", annual: "Annual" };

  // A constructable stylesheet is CSSOM, not an inline <style>: a publisher's strict
  // Content-Security-Policy (style-src without 'unsafe-inline') allows it. One sheet serves
  // every appeal on the page. Browsers without it get a <style> element.
  var sheet;
  function styleInto(root) {
    if (sheet === undefined) {
      sheet = null;
      try { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); } catch (e) { sheet = null; }
    }
    if (sheet && "adoptedStyleSheets" in root) root.adoptedStyleSheets = [sheet];
    else root.appendChild(el("style", {}, CSS));
  }

  function render(appeal, host, compact) {
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    styleInto(root);
    var box = el("section", {
      class: "box is-" + appeal.placement, "aria-label": compact ? "Survey" : appeal.headline
    });
    var clicked = function () { beacon(appeal, "click"); };
    if (compact) {
      var a = el("a", { class: "survey", href: link(appeal, appeal.survey_url,
        { campaign: appeal.campaign }) }, "Take our survey \u2022 Win a prize");
      a.addEventListener("click", clicked);
      box.appendChild(a);
    } else {
      fill(appeal, box, clicked, host);
    }
    root.appendChild(box);
    watch(appeal, host);
  }

  function fill(appeal, outer, clicked, host) {
    var box = el("div", { class: "inner" });
    outer.appendChild(box);
    box.appendChild(el("h2", {}, appeal.headline));
    // On a phone the banner opens compact (headline, counter, one button); "More" shows the rest.
    var more = el("div", { class: "more body", id: "rs-more-" + appeal.placement });
    (appeal.body || "").split(/\n\s*\n/).forEach(function (para) {
      if (para.trim()) more.appendChild(el("p", {}, para.trim()));
    });
    box.appendChild(more);
    if (appeal.counter && appeal.supporters > 0) {
      box.appendChild(el("p", { class: "counter" },
        appeal.counter.replace("{supporters}", appeal.supporters.toLocaleString())));
    }
    var goal = appeal.goal;
    if (goal && goal.target) {
      var pct = Math.min(100, Math.round(100 * goal.current / goal.target));
      var fmt = function (v) {
        return goal.kind === "money" ? money(v, appeal.currency) : v.toLocaleString();
      };
      var label = fmt(goal.current) + " of " + fmt(goal.target);
      var goalRow = el("p", { class: "goal" });
      var meter = el("span", { class: "meter", role: "img", "aria-label": label });
      var bar = el("span"); bar.style.width = pct + "%";
      meter.appendChild(bar);
      goalRow.appendChild(meter);
      goalRow.appendChild(el("span", { "aria-hidden": "true" }, label));
      box.appendChild(goalRow);
    }
    var amounts = appeal.amounts || {};
    var frequencies = ["monthly", "one_off", "annual"].filter(function (f) { return amounts[f]; });
    var row = el("div", { class: "row" });
    var picker = el("div", { class: "freq", role: "group", "aria-label": "How often" });
    var presets = el("div", { class: "presets" });
    var cta = el("a", { class: "cta" }, appeal.cta || "Contribute");
    cta.addEventListener("click", clicked);
    function choose(frequency) {
      var buttons = picker.querySelectorAll("button");
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].setAttribute("aria-pressed", String(buttons[i].value === frequency));
      }
      presets.textContent = "";
      amounts[frequency].presets.forEach(function (amount) {
        var a = el("a", { class: "amount", href: link(appeal, appeal.support_url,
          { amount: amount, frequency: frequency }) }, money(amount, appeal.currency)
          + (frequency === "monthly" ? " / month" : frequency === "annual" ? " / year" : ""));
        a.addEventListener("click", clicked);
        presets.appendChild(a);
      });
      cta.href = link(appeal, appeal.support_url,
        { amount: amounts[frequency]["default"], frequency: frequency });
    }
    if (frequencies.length > 1) {
      frequencies.forEach(function (f) {
        var b = el("button", { type: "button", value: f }, LABELS[f]);
        b.addEventListener("click", function () { choose(f); });
        picker.appendChild(b);
      });
      row.appendChild(picker);
    }
    if (frequencies.length) {
      choose(frequencies[0]);
      row.appendChild(presets);
      row.appendChild(cta);
    }
    if (appeal.placement === "banner") {
      var toggle = el("button", { type: "button", class: "toggle", "aria-expanded": "false",
        "aria-controls": more.id }, "More");
      toggle.addEventListener("click", function () {
        var open = outer.classList.toggle("open");
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "Less" : "More";
      });
      row.appendChild(toggle);
    }
    if (appeal.survey_url) {
      var survey = el("a", { class: "survey", href: link(appeal, appeal.survey_url,
        { campaign: appeal.campaign }) }, "Take our survey \u2022 Win a prize");
      survey.addEventListener("click", clicked);
      row.appendChild(survey);
    }
    box.appendChild(row);
    if (appeal.placement === "banner") {
      var close = el("button", { type: "button", class: "close", "aria-label": "Close" }, "\u00d7");
      close.addEventListener("click", function () {
        if (!appeal.preview) {
          update(function (s) { campaignState(s, appeal.campaign).d = Date.now(); });
        }
        beacon(appeal, "dismiss");
        var hadFocus = host.shadowRoot && host.shadowRoot.activeElement;
        host.remove();
        if (hadFocus) { document.body.setAttribute("tabindex", "-1"); document.body.focus(); }
      });
      outer.appendChild(close);
    }
  }

  // An impression counts once the appeal was at least half on screen for a second.
  function watch(appeal, host) {
    var counted = false, timer;
    function seen() {
      if (counted) return;
      counted = true;
      if (!appeal.preview) {
        update(function (s) {
          var c = campaignState(s, appeal.campaign);
          (c.v = c.v || []).push(Date.now());
        });
      }
      beacon(appeal, "view");
    }
    if (!window.IntersectionObserver) return seen();
    var observer = new IntersectionObserver(function (entries) {
      var visible = entries[entries.length - 1].intersectionRatio >= 0.5;
      clearTimeout(timer);
      if (visible) timer = setTimeout(function () { seen(); observer.disconnect(); }, 1000);
    }, { threshold: [0, 0.5] });
    observer.observe(host);
  }

  // The publisher's brand as custom properties on :host; the service fills this line in when
  // it serves the script (campaigns.views.embed_js). The fallbacks below keep a copy of the file
  // served by anything else looking right.
  var BRAND_CSS = "";
  var CSS = ":host{all:initial;display:block}" + BRAND_CSS
    + ".box{font:16px/1.4 var(--rs-brand-font-ui,system-ui,sans-serif);"
    + "color:var(--rs-brand-ink,#121212);"
    + "background:#fff8e1;border-top:4px solid var(--rs-brand-accent,#b3261e);padding:12px 16px;"
    + "position:relative;box-sizing:border-box}"
    + ".inner{max-width:60rem;margin:0 auto}"
    + ".is-banner{box-shadow:0 -2px 12px rgba(0,0,0,.25);max-height:60vh;overflow:auto;"
    + "animation:rs-in .3s ease-out}"
    + ".is-epic{margin:1.5em 0}.is-survey{border:0;background:none;padding:.5em 0}"
    + "h2{font:700 1.25em/1.25 var(--rs-brand-font-heading,Georgia,serif);margin:0 2.5rem .3em 0}"
    + "p{margin:0 0 .4em}.body{font-family:var(--rs-brand-font-body,Georgia,serif);font-size:1.05em}"
    + ".counter{font-weight:600}"
    + ".goal{display:flex;align-items:center;gap:8px;font-size:.9em}"
    + ".meter{width:12rem;height:10px;background:#e0d6bd;border-radius:5px;overflow:hidden}"
    + ".meter span{display:block;height:100%;background:#1b5e20}"
    + ".row,.freq,.presets{display:flex;flex-wrap:wrap;gap:8px;align-items:center}"
    + ".row{gap:8px 16px;margin-top:.5em}"
    + "button,a{font:inherit;cursor:pointer;border-radius:4px}"
    + ".freq button{border:2px solid #121212;background:#fff;color:#121212;padding:4px 10px}"
    + ".freq button[aria-pressed=true]{background:#121212;color:#fff}"
    + ".amount{border:2px solid #121212;color:#121212;background:#fff;padding:4px 12px;"
    + "text-decoration:none;font-weight:600}"
    + ".amount:hover{background:#121212;color:#fff}"
    + ".cta{background:var(--rs-brand-accent,#b3261e);color:var(--rs-brand-accent-text,#fff);"
    + "padding:6px 16px;text-decoration:none;font-weight:700}"
    + ".survey{color:#0d47a1;font-weight:600}"
    + ".close{position:absolute;top:6px;right:6px;width:44px;height:44px;border:0;"
    + "background:transparent;color:#121212;font-size:28px;line-height:1}"
    + "a:focus-visible,button:focus-visible{outline:3px solid #0d47a1;outline-offset:2px}"
    + ".toggle{display:none;border:0;background:none;color:#0d47a1;text-decoration:underline;"
    + "padding:4px 0;min-height:44px}"
    // A phone's banner stays within a third of the screen until the reader asks for more.
    + "@media (max-width:639px){.is-banner{max-height:33vh;padding:8px 12px}"
    + ".is-banner h2{font-size:1.05em;margin-bottom:.15em}.is-banner .counter{font-size:.9em}"
    + ".is-banner:not(.open) .more,.is-banner:not(.open) .freq,"
    + ".is-banner:not(.open) .presets,.is-banner:not(.open) .survey,"
    + ".is-banner:not(.open) .goal{display:none}"
    + ".is-banner.open{max-height:85vh}.is-banner .toggle{display:inline-block}"
    + ".is-banner .row{margin-top:.25em}.is-banner .close{top:0;right:0}}"
    + "@keyframes rs-in{from{transform:translateY(100%)}to{transform:none}}"
    + "@media (prefers-reduced-motion:reduce){.is-banner{animation:none}}";
})();
