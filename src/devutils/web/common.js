/* dev-utilities pages: shared helpers (API calls, key, theme, copy, result rendering).
   Plain ES2020, no dependencies, no build step; everything stays on this origin. */
"use strict";

(function () {
  const KEY_STORE = "devutils.apiKey"; // sessionStorage: this tab only, gone when it closes
  const THEME_STORE = "devutils.theme"; // localStorage: a preference, not a secret

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function apiKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  function setApiKey(value) {
    try {
      if (value) sessionStorage.setItem(KEY_STORE, value);
      else sessionStorage.removeItem(KEY_STORE);
    } catch (e) { /* storage refused: the key lives in the field only */ }
  }

  // A JWT (three base64url parts) goes as a bearer token, anything else as X-API-Key.
  function isJwt(value) { return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value); }

  function authHeaders() {
    const key = apiKey().trim();
    if (!key) return {};
    if (/^bearer\s/i.test(key)) return { Authorization: key };
    return isJwt(key) ? { Authorization: "Bearer " + key } : { "X-API-Key": key };
  }

  // ---- JSON without losing integers above 2^53 ---------------------------------------------
  // The server keeps such integers exact (json_digits); JSON.parse would round them.  Where the
  // browser gives the reviver the number's source text (and JSON.rawJSON to write it back), an
  // unsafe integer becomes a BigInt and is written back digit for digit.  Elsewhere JSON.parse
  // behaves as before and no BigInt ever appears.
  const LOSSLESS = typeof JSON.rawJSON === "function";
  const UNSAFE_DIGITS = /\d{16}/; // no run of 16 digits: no unsafe integer, the plain parse will do

  function parseJson(text) {
    if (!LOSSLESS || !UNSAFE_DIGITS.test(text)) return JSON.parse(text);
    return JSON.parse(text, (key, value, context) => {
      if (typeof value === "number" && !Number.isSafeInteger(value) && context &&
        /^-?\d+$/.test(context.source)) return BigInt(context.source);
      return value;
    });
  }

  function toJson(value, indent) {
    return JSON.stringify(value, (key, item) => (typeof item === "bigint" ? JSON.rawJSON(String(item)) : item), indent);
  }

  // One call to this server: {status, ok, body, error, ms}. Never throws.
  async function api(method, path, args) {
    const headers = Object.assign({ Accept: "application/json" }, authHeaders());
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      init.body = toJson(args || {});
    }
    const started = performance.now();
    let response;
    try {
      response = await fetch(path, init);
    } catch (exc) {
      return { status: 0, ok: false, ms: 0, body: null,
        error: { code: "NETWORK_ERROR", message: "The server could not be reached", details: String(exc) } };
    }
    const ms = Math.round(performance.now() - started);
    let body = null;
    try { body = parseJson(await response.text()); } catch (e) { body = null; }
    let error = null;
    if (!response.ok || !body || body.success === false) {
      error = (body && body.error) || { code: "HTTP_" + response.status, message: response.statusText || "Unexpected response", details: "" };
    }
    return { status: response.status, ok: !error, body, error, ms, headers: response.headers };
  }

  function initKeyField(input, onChange) {
    input.value = apiKey();
    // Stored as typed, so the next call uses what the field shows even before it loses focus
    // (Ctrl+Enter from the field); the page reloads what depends on the key on change only.
    input.addEventListener("input", () => setApiKey(input.value.trim()));
    input.addEventListener("change", () => {
      setApiKey(input.value.trim());
      if (onChange) onChange();
    });
  }

  function currentTheme() { return document.documentElement.dataset.theme || "light"; }

  function applyTheme(theme, button) {
    document.documentElement.dataset.theme = theme;
    if (button) {
      button.textContent = theme === "dark" ? "Light theme" : "Dark theme";
      button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
    }
  }

  function initTheme(button) {
    let saved = null;
    try { saved = localStorage.getItem(THEME_STORE); } catch (e) { saved = null; }
    const preferred = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    applyTheme(saved === "dark" || saved === "light" ? saved : preferred, button);
    button.addEventListener("click", () => {
      const next = currentTheme() === "dark" ? "light" : "dark";
      applyTheme(next, button);
      try { localStorage.setItem(THEME_STORE, next); } catch (e) { /* not saved */ }
    });
  }

  const state = { lastCopied: null };

  async function copy(text, button) {
    state.lastCopied = text;
    let done = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        done = true;
      }
    } catch (e) { done = false; }
    if (!done) {
      // Older or insecure contexts: a selected off-screen textarea and the copy command.
      const area = el("textarea", { class: "offscreen", "aria-hidden": "true" });
      area.value = text;
      area.style.position = "fixed";
      area.style.left = "-9999px";
      document.body.append(area);
      area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
      area.remove();
    }
    if (button) {
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      button.textContent = "Copied";
      button.classList.add("done");
      setTimeout(() => { button.textContent = label; button.classList.remove("done"); }, 1500);
    }
  }

  function copyButton(text, label) {
    const button = el("button", { type: "button", class: "copy", title: "Copy to the clipboard", text: label || "Copy" });
    button.addEventListener("click", () => copy(text, button));
    return button;
  }

  // POSIX shell single quoting.
  function shellQuote(text) { return "'" + String(text).replace(/'/g, "'\\''") + "'"; }

  // ---- results for people ----------------------------------------------------------------

  function looksLikeDiff(text) {
    const lines = text.split("\n");
    return lines.some((l) => l.startsWith("@@")) || (lines.some((l) => l.startsWith("--- ")) && lines.some((l) => l.startsWith("+++ ")));
  }

  function renderDiff(text) {
    const pre = el("pre", { class: "diff" });
    for (const line of text.split("\n")) {
      let kind = "";
      if (line.startsWith("@@")) kind = "hunk";
      else if (line.startsWith("+") && !line.startsWith("+++")) kind = "add";
      else if (line.startsWith("-") && !line.startsWith("---")) kind = "del";
      pre.append(el("span", { class: kind }, line || " "));
    }
    return pre;
  }

  const TIME_FIELDS = new Set(["exp", "iat", "nbf", "auth_time"]);
  const RENDER_LIMIT = 200000; // characters of JSON rendered as tables and trees

  function renderScalar(value, key) {
    if (value === null) return el("span", { class: "muted" }, "null");
    if (typeof value === "boolean") return el("span", { class: "value" }, el("strong", {}, value ? "true" : "false"));
    if (typeof value === "number" || typeof value === "bigint") {
      const wrap = el("span", { class: "value" }, el("code", {}, String(value)));
      if (TIME_FIELDS.has(key) && Number.isInteger(value) && value > 0 && value < 1e11) {
        wrap.append(el("span", { class: "hint" }, new Date(value * 1000).toISOString()));
      }
      return wrap;
    }
    const text = String(value);
    if (text.includes("\n")) {
      const block = looksLikeDiff(text) ? renderDiff(text) : el("pre", {}, text);
      return el("div", {}, el("div", { class: "value" }, copyButton(text)), block);
    }
    return el("span", { class: "value" }, el("code", {}, text), copyButton(text));
  }

  function isScalar(value) { return value === null || typeof value !== "object"; }

  // Objects as key/value tables (certificates, JWT header and claims ...), lists of scalars
  // (generated IDs) as numbered lists, each value with its own copy button.
  function renderHuman(value, key, depth) {
    depth = depth || 0;
    if (isScalar(value)) return renderScalar(value, key);
    if (depth > 6) return el("pre", {}, toJson(value, 2));
    if (Array.isArray(value)) {
      if (value.length === 0) return el("span", { class: "muted" }, "(empty list)");
      const list = el("ol", { class: "items", start: "0" });
      for (const item of value) list.append(el("li", {}, renderHuman(item, key, depth + 1)));
      if (value.every(isScalar) && value.length > 1) {
        const all = value.map(String).join("\n");
        return el("div", {}, list, el("div", {}, copyButton(all, "Copy all")));
      }
      return list;
    }
    const entries = Object.entries(value);
    if (entries.length === 0) return el("span", { class: "muted" }, "(empty)");
    const table = el("table", { class: "kv" });
    for (const [name, item] of entries) {
      table.append(el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, renderHuman(item, name, depth + 1))));
    }
    return table;
  }

  function treeNode(value, key) {
    const label = key === null ? "" : key;
    if (isScalar(value)) {
      const kind = value === null ? "z" : typeof value === "string" ? "s" : ["number", "bigint"].includes(typeof value) ? "n" : "b";
      const leaf = el("div", { class: "leaf" });
      if (label !== "") leaf.append(el("span", { class: "k" }, JSON.stringify(label) + ":"));
      leaf.append(el("span", { class: kind }, toJson(value)));
      if (typeof value === "string") leaf.append(copyButton(value));
      return leaf;
    }
    const isArray = Array.isArray(value);
    const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
    const details = el("details", { open: true });
    const summary = el("summary");
    if (label !== "") summary.append(el("span", { class: "k" }, JSON.stringify(label) + ": "));
    summary.append((isArray ? "[" : "{") + " " + entries.length + (isArray ? " items ]" : " keys }"));
    details.append(summary);
    for (const [k, v] of entries) details.append(treeNode(v, isArray ? k : k));
    return details;
  }

  function renderTree(value) {
    const text = toJson(value, 2);
    return el("div", { class: "tree" }, el("div", {}, copyButton(text, "Copy JSON")), treeNode(value, null));
  }

  // A tool's success data (human view and JSON tree tabs) or an error (code + message + details).
  function renderOutcome(outcome) {
    const box = el("div", { class: "box " + (outcome.ok ? "ok" : "error"), id: "outcome", "data-status": String(outcome.status) });
    const status = el("div", { class: "status" },
      el("span", { class: "badge " + (outcome.ok ? "ok" : "error") }, outcome.status ? "HTTP " + outcome.status : "no response"),
      outcome.ms ? el("span", {}, outcome.ms + " ms") : null);
    const limit = outcome.headers && outcome.headers.get("X-RateLimit-Remaining");
    if (limit !== null && limit !== undefined) status.append(el("span", {}, "rate limit remaining " + limit));
    // 429 and 503 say when to come back (seconds); without it the user can only guess.
    const retry = !outcome.ok && outcome.headers && outcome.headers.get("Retry-After");
    if (retry) status.append(el("span", { class: "retry-after" }, "retry after " + retry + (/^\d+$/.test(retry) ? " s" : "")));
    box.append(status);
    if (!outcome.ok) {
      const err = outcome.error;
      box.append(el("div", {}, el("span", { class: "error-code", id: "error-code" }, err.code), " ",
        el("span", { class: "error-message", id: "error-message" }, err.message)));
      if (err.details) box.append(el("pre", { id: "error-details" }, typeof err.details === "string" ? err.details : toJson(err.details, 2)));
      return box;
    }
    // Tool routes wrap their result as {success, data}; /health and /api/v1/status answer with
    // the object itself.
    const body = outcome.body;
    const data = body && typeof body === "object" && "data" in body ? body.data : body;
    const text = toJson(data, 2) || "null";
    let human;
    let tree;
    if (text.length > RENDER_LIMIT) {
      // A very large result (up to MAX_OUTPUT_BYTES) as plain text: thousands of nodes would
      // freeze the tab.  The whole JSON is one click away.
      const note = el("p", { class: "muted", id: "too-large" }, "Large result (" + text.length +
        " characters): showing the first " + RENDER_LIMIT + " as text. ", copyButton(text, "Copy JSON"));
      human = el("div", { id: "human-view" }, note, el("pre", {}, text.slice(0, RENDER_LIMIT)));
      tree = el("div", { id: "json-view", hidden: true }, el("pre", {}, text.slice(0, RENDER_LIMIT)));
    } else {
      human = el("div", { id: "human-view" }, renderHuman(data, null, 0));
      tree = el("div", { id: "json-view", hidden: true }, renderTree(data));
    }
    const tabHuman = el("button", { type: "button", "aria-selected": "true", text: "Result" });
    const tabJson = el("button", { type: "button", "aria-selected": "false", text: "JSON" });
    const select = (showHuman) => {
      human.hidden = !showHuman; tree.hidden = showHuman;
      tabHuman.setAttribute("aria-selected", String(showHuman));
      tabJson.setAttribute("aria-selected", String(!showHuman));
    };
    tabHuman.addEventListener("click", () => select(true));
    tabJson.addEventListener("click", () => select(false));
    box.append(el("div", { class: "tabs", role: "tablist" }, tabHuman, tabJson), human, tree);
    return box;
  }

  function notice(node, message) {
    node.textContent = "";
    if (!message) { node.hidden = true; return; }
    node.hidden = false;
    node.append(message);
  }

  // "/" focuses the search box unless the user is typing somewhere.
  function bindSearchKey(search) {
    document.addEventListener("keydown", (event) => {
      const tag = (event.target && event.target.tagName) || "";
      if (event.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(tag)) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    });
  }

  window.DU = { el, api, parseJson, toJson, lossless: LOSSLESS, apiKey, setApiKey, authHeaders, initKeyField, initTheme, copy, copyButton,
    shellQuote, renderOutcome, renderTree, renderHuman, notice, bindSearchKey, state };
})();
