/* ShareFab web app: the one script every page loads first; it defines window.sharefab.
 *
 * Auth: the token lives in localStorage["sharefab.token"] and goes out as
 * "Authorization: Bearer"; no cookies, so there is no CSRF surface. A 401 sends the user to
 * the login page. Strings come from JSON catalogues per language
 * (/static/locales/<lang>/<name>.json, flat keys "<page>.<thing>"); the language is
 * localStorage["sharefab.lang"] ("zh-CN" by default, or "en"), switched by #lang-switch without
 * a reload: pages re-render in their sharefab.onLang callbacks.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "sharefab.token";
  var LANG_KEY = "sharefab.lang";
  var LANGS = ["zh-CN", "en"];
  var PAGE_OF_KIND = {park: "park", sme: "sme", factory: "factory", analyst: "analyst",
                      platform: "park"};

  var catalogue = {};
  var loadedNames = [];
  var langListeners = [];
  var processes = {};

  function storedLang() {
    var lang = null;
    try { lang = window.localStorage.getItem(LANG_KEY); } catch (e) { lang = null; }
    return LANGS.indexOf(lang) >= 0 ? lang : "zh-CN";
  }

  var sharefab = {
    lang: storedLang(),
    me: null,
    langs: LANGS.slice(),
    pageOfKind: PAGE_OF_KIND
  };

  sharefab.token = function () {
    try { return window.localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  };
  sharefab.setToken = function (token) {
    if (token) { window.localStorage.setItem(TOKEN_KEY, token); }
    else { window.localStorage.removeItem(TOKEN_KEY); }
  };
  sharefab.toLogin = function () {
    var here = window.location.pathname + window.location.search;
    if (window.location.pathname === "/app/login") { return; }
    // A fragment, not a query: the server refuses unknown query parameters (422).
    window.location.assign("/app/login#next=" + encodeURIComponent(here));
  };
  sharefab.signOut = function () {
    sharefab.setToken(null);
    window.location.assign("/app/login");
  };

  /* fetch + JSON; non-2xx throws an Error with .status and .detail (from the error body). */
  sharefab.api = function (path, options) {
    options = options || {};
    var url = path;
    if (options.query) {
      var params = new URLSearchParams();
      Object.keys(options.query).forEach(function (k) {
        var v = options.query[k];
        if (v !== undefined && v !== null && v !== "") { params.append(k, String(v)); }
      });
      var qs = params.toString();
      if (qs) { url += (url.indexOf("?") >= 0 ? "&" : "?") + qs; }
    }
    var headers = {"Accept": "application/json"};
    var token = sharefab.token();
    if (token) { headers["Authorization"] = "Bearer " + token; }
    var init = {method: options.method || "GET", headers: headers};
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return window.fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        if (text) { try { data = JSON.parse(text); } catch (e) { data = text; } }
        if (resp.ok) { return data; }
        var detail = data && typeof data === "object" && data.detail !== undefined
          ? data.detail : (text || resp.statusText);
        if (typeof detail !== "string") { detail = JSON.stringify(detail); }
        var err = new Error(detail);
        err.status = resp.status;
        err.detail = detail;
        if (resp.status === 401 && !options.noRedirect) { sharefab.toLogin(); }
        throw err;
      });
    });
  };

  /* A message in the current language; {name} placeholders; the key itself when missing. */
  sharefab.t = function (key, vars) {
    var s = Object.prototype.hasOwnProperty.call(catalogue, key) ? catalogue[key] : key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }
    return s;
  };

  function loadCatalogues(names) {
    var lang = sharefab.lang;
    return Promise.all(names.map(function (name) {
      return window.fetch("/static/locales/" + lang + "/" + name + ".json")
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; });
    })).then(function (parts) {
      var merged = {};
      parts.forEach(function (p) { Object.keys(p).forEach(function (k) { merged[k] = p[k]; }); });
      catalogue = merged;
    });
  }

  /* Fill data-i18n (textContent), data-i18n-placeholder and data-i18n-title under root. */
  sharefab.translate = function (root) {
    root = root || document;
    root.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = sharefab.t(el.getAttribute("data-i18n"));
    });
    root.querySelectorAll("[data-i18n-placeholder]").forEach(function (el) {
      el.setAttribute("placeholder", sharefab.t(el.getAttribute("data-i18n-placeholder")));
    });
    root.querySelectorAll("[data-i18n-title]").forEach(function (el) {
      el.setAttribute("title", sharefab.t(el.getAttribute("data-i18n-title")));
    });
    document.documentElement.setAttribute("lang", sharefab.lang);
  };

  sharefab.onLang = function (cb) { langListeners.push(cb); };

  sharefab.setLang = function (lang) {
    if (LANGS.indexOf(lang) < 0) { return Promise.resolve(); }
    sharefab.lang = lang;
    window.localStorage.setItem(LANG_KEY, lang);
    fmtCache = {};
    sharefab.notice("");  // a message shown in the old language goes
    return loadCatalogues(loadedNames).then(function () {
      sharefab.translate(document);
      var sw = document.getElementById("lang-switch");
      if (sw) { sw.value = lang; }
      langListeners.forEach(function (cb) { try { cb(lang); } catch (e) { console.error(e); } });
    });
  };

  /* Process names from the taxonomy (/processes has zh and en names). */
  sharefab.processName = function (code) {
    var p = processes[code];
    if (!p) { return code; }
    return sharefab.lang === "en" ? p.name.en : p.name.zh;
  };
  sharefab.processes = function () { return processes; };

  function loadProcesses() {
    return sharefab.api("/processes", {noRedirect: true}).then(function (list) {
      (list || []).forEach(function (p) { processes[p.code] = p; });
    }).catch(function () { /* names fall back to codes */ });
  }

  /* Locale-aware numbers, money (CNY), hours, dates and percentages. */
  var fmtCache = {};
  function nf(name, opts) {
    var key = name + "|" + sharefab.lang;
    if (!fmtCache[key]) { fmtCache[key] = new Intl.NumberFormat(sharefab.lang, opts); }
    return fmtCache[key];
  }
  sharefab.fmt = {
    number: function (x, digits) {
      if (x === null || x === undefined || isNaN(x)) { return "–"; }
      var d = digits === undefined ? 1 : digits;
      return nf("n" + d, {maximumFractionDigits: d, minimumFractionDigits: 0}).format(x);
    },
    money: function (x) {
      if (x === null || x === undefined || isNaN(x)) { return "–"; }
      return nf("money", {style: "currency", currency: "CNY",
                          maximumFractionDigits: 2, minimumFractionDigits: 2}).format(x);
    },
    hours: function (x) {
      if (x === null || x === undefined || isNaN(x)) { return "–"; }
      return sharefab.t("common.hours_value", {n: sharefab.fmt.number(x, 1)});
    },
    pct: function (x) {
      if (x === null || x === undefined || isNaN(x)) { return "–"; }
      return nf("pct", {style: "percent", maximumFractionDigits: 1,
                        minimumFractionDigits: 1}).format(x);
    },
    datetime: function (iso) {
      if (!iso) { return "–"; }
      var d = new Date(iso);
      if (isNaN(d.getTime())) { return String(iso); }
      return new Intl.DateTimeFormat(sharefab.lang, {
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        hour12: false}).format(d);
    },
    date: function (iso) {
      if (!iso) { return "–"; }
      var d = new Date(iso);
      if (isNaN(d.getTime())) { return String(iso); }
      return new Intl.DateTimeFormat(sharefab.lang, {month: "2-digit", day: "2-digit"}).format(d);
    }
  };

  /* Server-sent events with the bearer token (EventSource cannot send headers): a fetch whose
   * body is read as it arrives. onEvent(kind, data) per event; reconnects after `retry` ms
   * when the server ends the stream; returns {close()}. onState(true|false) on (dis)connect. */
  sharefab.stream = function (path, options) {
    var closed = false, controller = null, retryMs = 2000;
    function connect() {
      if (closed) { return; }
      controller = new AbortController();
      var headers = {"Accept": "text/event-stream"};
      var token = sharefab.token();
      if (token) { headers["Authorization"] = "Bearer " + token; }
      window.fetch(path, {headers: headers, signal: controller.signal}).then(function (resp) {
        if (resp.status === 401) { sharefab.toLogin(); return; }
        if (!resp.ok || !resp.body) { throw new Error("stream " + resp.status); }
        if (options.onState) { options.onState(true); }
        var reader = resp.body.getReader(), decoder = new TextDecoder(), buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { return; }
            buffer += decoder.decode(chunk.value, {stream: true});
            var parts = buffer.split("\n\n");
            buffer = parts.pop();
            parts.forEach(function (block) {
              var kind = "message", data = [];
              block.split("\n").forEach(function (line) {
                if (line.indexOf("event: ") === 0) { kind = line.slice(7); }
                else if (line.indexOf("data: ") === 0) { data.push(line.slice(6)); }
                else if (line.indexOf("retry: ") === 0) { retryMs = parseInt(line.slice(7), 10) || retryMs; }
              });
              if (data.length) {
                var parsed;
                try { parsed = JSON.parse(data.join("\n")); } catch (e) { parsed = data.join("\n"); }
                options.onEvent(kind, parsed);
              }
            });
            return pump();
          });
        }
        return pump();
      }).catch(function (err) {
        if (closed || (err && err.name === "AbortError")) { return; }
        console.warn("stream", path, err);
      }).then(function () {
        if (options.onState) { options.onState(false); }
        if (!closed) { window.setTimeout(connect, retryMs); }
      });
    }
    connect();
    return {close: function () { closed = true; if (controller) { controller.abort(); } }};
  };

  /* Small DOM helper: el("td", {class: "num"}, "text", node, [more, nodes]...). Attributes that
     are null, undefined or false are left out and true is a bare attribute; on* functions become
     listeners; children may be strings, numbers, nodes or arrays of them. */
  sharefab.el = function (tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === "text") { node.textContent = v; }
      else if (k === "class") { node.className = v; }
      else if (k.indexOf("on") === 0 && typeof v === "function") {
        node.addEventListener(k.slice(2), v);
      } else { node.setAttribute(k, v === true ? "" : v); }
    });
    (function add(items) {
      items.forEach(function (c) {
        if (c === null || c === undefined) { return; }
        if (Array.isArray(c)) { add(c); return; }
        node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
      });
    })([].slice.call(arguments, 2));
    return node;
  };

  /* Show a message in the page's #notice box (kind: "error" | "info" | "denied"). */
  sharefab.notice = function (text, kind) {
    var box = document.getElementById("notice");
    if (!box) { return; }
    box.textContent = text || "";
    box.className = "notice" + (text ? " notice-" + (kind || "info") : "");
    box.hidden = !text;
  };

  /* The page is not for this role: say so, show nothing else. */
  sharefab.deny = function () {
    var main = document.querySelector("main");
    if (main) { main.innerHTML = ""; }
    var box = sharefab.el("div", {id: "denied", class: "notice notice-denied"},
      sharefab.t("common.not_for_role", {kind: sharefab.me ? sharefab.me.org_kind : "?"}));
    var link = sharefab.el("a", {href: "/app", id: "denied-home"}, sharefab.t("common.go_home"));
    box.appendChild(document.createTextNode(" "));
    box.appendChild(link);
    if (main) { main.appendChild(box); }
  };

  function fillHeader() {
    var who = document.getElementById("who");
    if (who && sharefab.me) {
      who.textContent = sharefab.t("common.role." + sharefab.me.org_kind) + " · " +
        sharefab.me.org + " · " + sharefab.t("common.user_role." + sharefab.me.role);
    }
    var sw = document.getElementById("lang-switch");
    if (sw && !sw.getAttribute("data-bound")) {
      sw.setAttribute("data-bound", "1");
      sw.value = sharefab.lang;
      sw.addEventListener("change", function () { sharefab.setLang(sw.value); });
    }
    var out = document.getElementById("sign-out");
    if (out && !out.getAttribute("data-bound")) {
      out.setAttribute("data-bound", "1");
      out.addEventListener("click", function (ev) { ev.preventDefault(); sharefab.signOut(); });
    }
  }
  sharefab.onLang(fillHeader);

  /* Load catalogues and /me, translate the page, bind the header; rejects when signed out. */
  sharefab.ready = function (names, options) {
    options = options || {};
    loadedNames = names.slice();
    if (loadedNames.indexOf("common") < 0) { loadedNames.unshift("common"); }
    var signedIn = options.anonymous ? Promise.resolve(null) : (function () {
      if (!sharefab.token()) {
        sharefab.toLogin();
        return Promise.reject(Object.assign(new Error("not signed in"), {status: 401}));
      }
      return sharefab.api("/me").then(function (me) { sharefab.me = me; return me; });
    })();
    return Promise.all([loadCatalogues(loadedNames), signedIn, loadProcesses()])
      .then(function () {
        sharefab.translate(document);
        fillHeader();
        document.body.classList.add("ready");
        return sharefab.me;
      });
  };

  window.sharefab = sharefab;
})();
