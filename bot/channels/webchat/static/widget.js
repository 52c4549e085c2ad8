/* Trợ lý số web chat widget: one <script> tag, a shadow root, no request outside the bot's own server.
   Answers arrive as JSON blocks and are built as DOM nodes with textContent: no HTML is ever parsed.
   The conversation (and an anonymous random visitor id) live in this tab's sessionStorage. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__trolySoWidget) return;
  window.__trolySoWidget = true;
  var T = __TEXTS__;
  var ds = script.dataset || {};
  var base = new URL(script.src, location.href).origin;
  var api = base + "/webchat/api/messages";
  var storeKey = "troly-so:" + base;
  var KEEP = 150;
  var state = load();
  var busy = false, pending = null, ui = {};

  function newId() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function load() {
    var s = null;
    try { s = JSON.parse(sessionStorage.getItem(storeKey) || "null"); } catch (e) { s = null; }
    if (!s || typeof s.visitor !== "string" || !Array.isArray(s.log)) {
      s = { visitor: newId(), last: 0, log: [], open: ds.open === "true" };
    }
    return s;
  }
  function save() {
    if (state.log.length > KEEP) state.log = state.log.slice(-KEEP);
    try { sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode: kept in memory */ }
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  function sr(text) { return el("span", "sr", text); }

  // ----- rendering (textContent only) -----
  function segments(parent, segs) {
    (segs || []).forEach(function (s) {
      var node;
      if (s.href && /^https?:\/\//i.test(s.href)) {
        node = el("a", null, s.t);
        node.href = s.href;
        node.target = "_blank";
        node.rel = "noopener noreferrer";
        node.appendChild(sr(" " + T.new_tab));
      } else if (s.code) {
        node = el("code", null, s.t);
      } else {
        node = document.createTextNode(s.t);
      }
      if (s.b) { var b = el("strong"); b.appendChild(node); node = b; }
      parent.appendChild(node);
    });
  }
  function blocks(parent, list) {
    (list || []).forEach(function (b) {
      var n;
      if (b.k === "h") { n = el("p", "h"); segments(n, b.c); }
      else if (b.k === "ul" || b.k === "ol") {
        n = el(b.k);
        if (b.k === "ol" && b.start > 1) n.start = b.start;
        (b.items || []).forEach(function (item) { var li = el("li"); segments(li, item); n.appendChild(li); });
      } else {
        n = el("p");
        (b.lines || []).forEach(function (line, i) { if (i) n.appendChild(el("br")); segments(n, line); });
      }
      parent.appendChild(n);
    });
  }
  function render(item) {
    var wrap = el("div", "msg " + (item.who === "me" ? "me" : "bot"));
    wrap.appendChild(sr((item.who === "me" ? T.you : T.bot) + ": "));
    if (item.who === "me") wrap.appendChild(document.createTextNode(item.text));
    else blocks(wrap, item.msg.blocks);
    ui.log.appendChild(wrap);
    var rows = item.who === "me" ? [] : item.msg.buttons || [];
    if (rows.length) {
      var group = el("div", "btns");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", T.answer_buttons);
      rows.forEach(function (row) {
        var r = el("div", "row");
        row.forEach(function (b) {
          var n;
          if (b.url) {
            if (!/^https?:\/\//i.test(b.url)) return;
            n = el("a", "btn", b.label);
            n.href = b.url; n.target = "_blank"; n.rel = "noopener noreferrer";
            n.appendChild(sr(" " + T.new_tab));
          } else {
            n = el("button", "btn", b.label);
            n.type = "button";
            n.addEventListener("click", function () { send({ button: b.data }, b.label); });
          }
          r.appendChild(n);
        });
        group.appendChild(r);
      });
      ui.log.appendChild(group);
    }
  }
  function add(item) {
    state.log.push(item);
    save();
    render(item);
    ui.log.scrollTop = ui.log.scrollHeight;
  }
  function receive(data) {
    (data && data.messages || []).forEach(function (m) {
      if (m.id > state.last) { state.last = m.id; add({ who: "bot", msg: m }); }
    });
    save();
  }

  // ----- talking to the bot -----
  function problem(text, canRetry) {
    ui.errorText.textContent = text || "";
    ui.retry.hidden = !canRetry;
    ui.error.hidden = !text;
  }
  function call(body) {
    var init = { method: body ? "POST" : "GET", credentials: "omit", cache: "no-store", mode: "cors" };
    var url = api;
    if (body) {
      body.visitor = state.visitor;
      body.after = state.last;
      init.headers = { "Content-Type": "text/plain;charset=UTF-8" };
      init.body = JSON.stringify(body);
    } else {
      url += "?visitor=" + encodeURIComponent(state.visitor) + "&after=" + encodeURIComponent(state.last);
    }
    return fetch(url, init).then(function (r) {
      if (r.ok) return r.json();
      var e = new Error("http " + r.status);
      e.status = r.status;
      throw e;
    });
  }
  function failed(err) {
    var s = err && err.status;
    if (s === 403) problem(T.refused, false);
    else if (s === 429) problem(T.too_fast, true);
    else if (s === 413) problem(T.too_long, false);
    else problem(T.unreachable, true);
  }
  function typing(on) {
    busy = on;
    ui.typing.hidden = !on;
    ui.send.disabled = on;
    if (on) ui.log.setAttribute("aria-busy", "true"); else ui.log.removeAttribute("aria-busy");
  }
  function post(body) {
    pending = body;
    typing(true);
    problem("");
    call(body).then(function (data) {
      pending = null;
      receive(data);
      // nothing new: the answer is still being written by another attempt; fetch it a little later
      if (!(data && data.messages && data.messages.length)) setTimeout(catchUp, 2000);
    }, failed).then(function () { typing(false); });
  }
  function send(body, echo) {
    if (busy) return;
    body.mid = newId().slice(0, 20);  // kept for a retry, so the bot answers a message once
    if (echo) add({ who: "me", text: echo });
    post(body);
  }
  function catchUp() {
    call(null).then(receive, failed);
  }

  // ----- the panel -----
  function setOpen(open, focus) {
    state.open = open;
    save();
    ui.panel.hidden = !open;
    ui.launcher.hidden = open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      if (!state.log.length && !busy) send({ text: "/start" }, null);
      ui.log.scrollTop = ui.log.scrollHeight;
      if (focus) ui.input.focus();
    } else if (focus) {
      ui.launcher.focus();
    }
  }
  function mount() {
    var host = el("div");
    host.id = "troly-so-widget";
    var root = host.attachShadow({ mode: "open" });
    var css = el("link");
    css.rel = "stylesheet";
    css.href = base + "/widget.css";
    var w = el("div", "w");
    w.style.display = "none";
    css.onload = css.onerror = function () { w.style.display = ""; };
    root.appendChild(css);
    root.appendChild(w);

    ui.launcher = el("button", "launcher");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-label", T.open_label);
    ui.launcher.setAttribute("aria-controls", "panel");
    ui.launcher.appendChild(el("span", "icon", "💬")).setAttribute("aria-hidden", "true");
    ui.launcher.appendChild(el("span", null, T.launcher));

    ui.panel = el("section", "panel");
    ui.panel.id = "panel";
    ui.panel.setAttribute("role", "dialog");
    ui.panel.setAttribute("aria-label", T.dialog_label);
    var head = el("header", "head");
    var titles = el("div");
    titles.appendChild(el("h2", "title", ds.title || T.title));
    titles.appendChild(el("p", "sub", T.subtitle));
    var close = el("button", "close", "×");
    close.type = "button";
    close.setAttribute("aria-label", T.close_label);
    head.appendChild(titles);
    head.appendChild(close);

    ui.log = el("div", "log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-label", T.log_label);
    ui.log.tabIndex = 0;
    ui.typing = el("p", "typing", T.typing);
    ui.typing.setAttribute("role", "status");
    ui.typing.hidden = true;
    ui.error = el("div", "error");
    ui.error.setAttribute("role", "alert");
    ui.errorText = el("span");
    ui.retry = el("button", "btn", T.retry);
    ui.retry.type = "button";
    ui.error.appendChild(ui.errorText);
    ui.error.appendChild(ui.retry);
    ui.error.hidden = true;

    var form = el("form", "form");
    var label = el("label", "sr", T.input_label);
    label.htmlFor = "q";
    ui.input = el("textarea");
    ui.input.id = "q";
    ui.input.rows = 2;
    ui.input.maxLength = 2000;
    ui.input.placeholder = T.placeholder;
    ui.send = el("button", "send", T.send);
    ui.send.type = "submit";
    form.appendChild(label);
    form.appendChild(ui.input);
    form.appendChild(ui.send);

    [head, ui.log, ui.typing, ui.error, form].forEach(function (n) { ui.panel.appendChild(n); });
    w.appendChild(ui.launcher);
    w.appendChild(ui.panel);

    ui.launcher.addEventListener("click", function () { setOpen(true, true); });
    close.addEventListener("click", function () { setOpen(false, true); });
    ui.panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false, true); });
    ui.retry.addEventListener("click", function () { if (pending) post(pending); else catchUp(); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = ui.input.value.trim();
      if (!text || busy) return;
      ui.input.value = "";
      send({ text: text }, text);
    });
    ui.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else ui.send.click();
      }
    });

    state.log.forEach(render);
    document.body.appendChild(host);
    setOpen(!!state.open, false);
    if (state.log.length) catchUp();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
