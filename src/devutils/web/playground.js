/* The playground: tool catalogue from GET /api/v1/tools, a form per tool generated from its input
   schema, calls through the REST API, results for people, curl/CLI equivalents, state in the URL. */
"use strict";

(function () {
  const { el } = window.DU;
  const $ = (id) => document.getElementById(id);
  // Text the schema bounds to a line's worth (names, zones, dates, domain names: maxLength up to
  // 256) or shapes with a format is one line; any other text may span lines and gets a text area,
  // since an <input> drops line breaks.
  const ONE_LINE_MAX = 256;

  let tools = [];
  let current = null; // the selected tool's listing entry
  // The hash this page last wrote.  A link opened in place fires popstate and then hashchange;
  // the first rewrites the hash without the link's secrets, and the second must not read that
  // back as a new state (it would empty the secret fields just filled).
  let written = null;

  // ---- catalogue -------------------------------------------------------------------------

  async function loadTools() {
    const outcome = await window.DU.api("GET", "/api/v1/tools");
    if (!outcome.ok) {
      tools = [];
      renderList();
      const hint = outcome.status === 401 ? " Type the API key (or JWT) above." : "";
      window.DU.notice($("notice"), el("span", {},
        "Could not load the tools: ", el("span", { class: "error-code" }, outcome.error.code), " ",
        outcome.error.message + "." + hint));
      return;
    }
    window.DU.notice($("notice"), null);
    tools = outcome.body.data.tools;
    renderList();
    fromUrl();
  }

  function matches(tool, words) {
    const hay = [tool.name, tool.title, tool.description, tool.family, tool.path].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  }

  function renderList() {
    const nav = $("tool-list");
    nav.textContent = "";
    const words = $("search").value.toLowerCase().split(/\s+/).filter(Boolean);
    const families = new Map();
    for (const tool of tools) {
      if (!matches(tool, words)) continue;
      if (!families.has(tool.family)) families.set(tool.family, []);
      families.get(tool.family).push(tool);
    }
    if (families.size === 0) {
      nav.append(el("p", { class: "empty" }, tools.length ? "No tool matches." : "No tools loaded."));
      return;
    }
    for (const [family, members] of families) {
      const list = el("ul");
      for (const tool of members) {
        const link = el("a", { href: "#tool=" + encodeURIComponent(tool.name), "data-tool": tool.name,
          "aria-current": current && current.name === tool.name ? "true" : "false" },
        tool.title, el("small", {}, tool.name));
        link.addEventListener("click", (event) => {
          event.preventDefault();
          select(tool.name, null, true);
          $("fields").querySelector("input, select, textarea")?.focus();
        });
        list.append(el("li", {}, link));
      }
      nav.append(el("details", { open: true, "data-family": family },
        el("summary", {}, family + " (" + members.length + ")"), list));
    }
  }

  // ---- schema → form ---------------------------------------------------------------------

  // The one non-null branch of an Optional[...] (anyOf [..., {type: null}]).  Text or a number
  // (time_convert's input: "2024-01-01" or 1703518245) is a text field: the text is sent, which
  // the string branch accepts.
  function effective(schema) {
    if (schema.anyOf) {
      const branches = schema.anyOf.filter((s) => s.type !== "null");
      if (branches.length === 1) return Object.assign({}, schema, branches[0], { nullable: true });
      const text = branches.find((s) => s.type === "string" && !s.enum);
      if (text && branches.every((s) => ["string", "integer", "number"].includes(s.type) && !s.enum)) {
        return Object.assign({}, schema, text);
      }
    }
    return schema;
  }

  function oneLine(schema) {
    return schema.format !== undefined || (schema.maxLength !== undefined && schema.maxLength <= ONE_LINE_MAX);
  }

  // writeOnly marks a secret (the CLI's --FIELD-env rule): masked, never in the URL or a command.
  // One line (a password input) unless the schema admits a long value such as a PEM key.
  function kindOf(schema) {
    if (schema.enum) return "enum";
    if (schema.type === "boolean") return "boolean";
    if (schema.type === "integer" || schema.type === "number") return "number";
    if (schema.type !== "string") return "json";
    if (schema.writeOnly) return oneLine(schema) || schema.maxLength === undefined ? "secret" : "secret-text";
    return oneLine(schema) ? "string" : "text";
  }

  function isSecret(kind) { return kind === "secret" || kind === "secret-text"; }

  // An optional text field whose default is not empty: "" is a value of its own (no XML
  // attributes, words joined without a separator), which an empty field (the default) cannot say.
  function canSendEmpty(schema, kind, required) {
    return !required && typeof schema.default === "string" && schema.default !== "" &&
      !(schema.minLength > 0) && ["string", "text"].includes(kind);
  }

  function buildField(name, raw, required) {
    const schema = effective(raw);
    const kind = kindOf(schema);
    const id = "f-" + name;
    const wrap = el("div", { class: "field", "data-field": name, "data-kind": kind });
    const help = [schema.description || ""];
    if (schema.default !== undefined && schema.default !== null && schema.default !== "") help.push("Default: " + JSON.stringify(schema.default) + ".");
    let control;
    if (kind === "boolean") {
      control = el("input", { type: "checkbox", id, role: "switch" });
      control.checked = schema.default === true;
      wrap.append(el("label", { class: "switch", for: id }, control, name));
    } else {
      const label = el("label", { for: id }, name, required ? el("span", { class: "req", title: "required" }, "*") : null);
      if (kind === "enum") {
        control = el("select", { id });
        if (!required) control.append(el("option", { value: "" }, "(default)"));
        for (const option of schema.enum) control.append(el("option", { value: JSON.stringify(option) }, String(option)));
        if (!required && schema.default !== undefined) control.value = "";
      } else if (kind === "number") {
        control = el("input", { type: "number", id, step: schema.type === "integer" ? "1" : "any",
          min: schema.minimum, max: schema.maximum, placeholder: schema.default !== undefined && schema.default !== null ? String(schema.default) : "" });
      } else if (kind === "text" || kind === "json") {
        control = el("textarea", { id, rows: kind === "json" ? "3" : "5", spellcheck: "false",
          placeholder: kind === "json" ? "JSON, e.g. " + (schema.type === "array" ? "[]" : "{}") : "" });
      } else if (kind === "secret") {
        control = el("input", { type: "password", id, spellcheck: "false", autocomplete: "off", "data-secret": "true" });
      } else if (kind === "secret-text") {
        control = el("textarea", { id, rows: "5", spellcheck: "false", autocomplete: "off", class: "masked", "data-secret": "true" });
      } else {
        control = el("input", { type: "text", id, spellcheck: "false", autocomplete: "off",
          placeholder: schema.default ? String(schema.default) : "" });
      }
      wrap.append(label, control);
    }
    if (isSecret(kind)) {
      help.push("Secret: kept out of the page address and the commands below.");
      const show = el("input", { type: "checkbox", id: id + "-show" });
      show.addEventListener("change", () => {
        if (kind === "secret") control.type = show.checked ? "text" : "password";
        else control.classList.toggle("masked", !show.checked);
      });
      wrap.append(el("label", { class: "inline", for: id + "-show" }, show, "show"));
    }
    if (canSendEmpty(schema, kind, required)) {
      const empty = el("input", { type: "checkbox", id: id + "-empty" });
      empty.addEventListener("change", () => { control.disabled = empty.checked; onFormChange(); });
      wrap.append(el("label", { class: "inline", for: id + "-empty" }, empty, "send empty text (\"\") instead of the default"));
    }
    wrap.append(el("div", { class: "help" }, help.join(" ")));
    control.addEventListener("input", onFormChange);
    control.addEventListener("change", onFormChange);
    return wrap;
  }

  function renderForm(tool) {
    const fields = $("fields");
    fields.textContent = "";
    const schema = tool.inputSchema || {};
    const required = new Set(schema.required || []);
    const props = Object.entries(schema.properties || {});
    if (props.length === 0) fields.append(el("p", { class: "muted" }, "This tool takes no input."));
    for (const [name, prop] of props) fields.append(buildField(name, prop, required.has(name)));
  }

  // The arguments the form describes; fields left empty are left out (the server's defaults).
  function collectArgs() {
    const args = {};
    const problems = [];
    if (!current) return { args, problems };
    const schema = current.inputSchema || {};
    const required = new Set(schema.required || []);
    for (const [name, raw] of Object.entries(schema.properties || {})) {
      const prop = effective(raw);
      const control = $("f-" + name);
      if (!control) continue;
      const kind = kindOf(prop);
      const empty = $("f-" + name + "-empty");
      if (kind === "boolean") {
        if (control.checked !== (prop.default === true) || required.has(name)) args[name] = control.checked;
      } else if (kind === "enum") {
        if (control.value !== "") args[name] = JSON.parse(control.value);
      } else if (kind === "number") {
        if (control.value.trim() !== "") {
          const number = Number(control.value);
          args[name] = Number.isNaN(number) ? control.value : number;
        }
      } else if (kind === "json") {
        if (control.value.trim() !== "") {
          try { args[name] = JSON.parse(control.value); } catch (e) { problems.push(name + ": not valid JSON (" + e.message + ")"); }
        }
      } else if (empty && empty.checked) {
        args[name] = "";
      } else if (control.value !== "" || required.has(name)) {
        args[name] = control.value;
      }
    }
    return { args, problems };
  }

  function fillForm(args) {
    if (!current) return;
    const schema = current.inputSchema || {};
    for (const [name, raw] of Object.entries(schema.properties || {})) {
      const prop = effective(raw);
      const control = $("f-" + name);
      if (!control) continue;
      const kind = kindOf(prop);
      const has = Object.prototype.hasOwnProperty.call(args, name) && args[name] !== null;
      const value = args[name];
      const empty = $("f-" + name + "-empty");
      if (empty) {
        empty.checked = has && value === "";
        control.disabled = empty.checked;
      }
      if (kind === "boolean") control.checked = has ? Boolean(value) : prop.default === true;
      else if (kind === "enum") {
        if (!has) control.selectedIndex = 0;
        else {
          const wanted = JSON.stringify(value);
          control.value = wanted;
          if (control.value !== wanted) { // a value the enum does not list: keep it visible
            control.append(el("option", { value: wanted }, String(value)));
            control.value = wanted;
          }
        }
      } else if (kind === "json") control.value = has ? JSON.stringify(value, null, 2) : "";
      else control.value = has ? String(value) : "";
    }
  }

  // ---- commands and URL state ---------------------------------------------------------------

  function secretNames() {
    if (!current) return [];
    const props = (current.inputSchema || {}).properties || {};
    return Object.keys(props).filter((name) => isSecret(kindOf(effective(props[name]))));
  }

  // The arguments without their secrets: what the URL (history, a shared link) may carry.
  function shareable(args) {
    const out = Object.assign({}, args);
    for (const name of secretNames()) delete out[name];
    return out;
  }

  // privateKey → private_key: the CLI's field name, for its --private-key-env flag and the variable.
  function snake(name) { return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()); }
  function envVar(name) { return "DEVUTILS_" + snake(name).toUpperCase(); }

  function updateCommands() {
    if (!current) return;
    const { args } = collectArgs();
    const secrets = secretNames().filter((name) => Object.prototype.hasOwnProperty.call(args, name));
    const url = window.location.origin + current.path;
    const lines = [];
    let data = "-d " + window.DU.shellQuote(JSON.stringify(args));
    if (secrets.length && current.method !== "GET") {
      // Secrets go through variables, like the API key, and jq writes them into the body: a
      // PEM key's line breaks, quotes and backslashes must be escaped as JSON, which splicing
      // the variable into a quoted body would not do.
      const named = secrets.map((name) => "--arg " + name + " \"$" + envVar(name) + "\"").join(" ");
      const filter = JSON.stringify(shareable(args)) + " + $ARGS.named";
      lines.push("jq -cn " + named + " " + window.DU.shellQuote(filter) + " |");
      data = "--data-binary @-";
    }
    lines.push("curl -sS -X " + current.method + " " + window.DU.shellQuote(url));
    const auth = window.DU.authHeaders();
    // The key itself never appears in a command on screen: the shell reads it from a variable.
    if (auth.Authorization) lines.push("-H \"Authorization: Bearer $DEVUTILS_TOKEN\"");
    if (auth["X-API-Key"]) lines.push("-H \"X-API-Key: $DEVUTILS_API_KEY\"");
    if (current.method !== "GET") {
      lines.push("-H 'Content-Type: application/json'");
      lines.push(data);
    }
    $("curl-cmd").textContent = lines.join(" \\\n  ");
    let cli = current.cli;
    if (current.method !== "GET") {
      for (const name of secrets) cli += " --" + snake(name).replace(/_/g, "-") + "-env " + envVar(name);
      const rest = JSON.stringify(shareable(args));
      if (rest !== "{}") cli += " --json " + window.DU.shellQuote(rest);
    }
    $("cli-cmd").textContent = cli;
  }

  function toUrl(args) {
    if (!current) return;
    const params = new URLSearchParams();
    params.set("tool", current.name);
    const shared = shareable(args || {});
    if (Object.keys(shared).length) params.set("args", JSON.stringify(shared));
    const hash = "#" + params.toString();
    written = hash;
    if (window.location.hash !== hash) history.replaceState(null, "", hash);
  }

  function fromUrl() {
    if (written !== null && window.location.hash === written) return;
    const params = new URLSearchParams(window.location.hash.slice(1));
    const name = params.get("tool");
    if (!name) return;
    let args = null;
    try { args = params.has("args") ? JSON.parse(params.get("args")) : null; } catch (e) { args = null; }
    select(name, args && typeof args === "object" ? args : null, false);
  }

  function onFormChange() {
    updateCommands();
    toUrl(collectArgs().args);
  }

  // ---- selection and calls -----------------------------------------------------------------

  function select(name, args, push) {
    const tool = tools.find((t) => t.name === name);
    if (!tool) {
      window.DU.notice($("notice"), "No tool named " + name + " on this server.");
      return;
    }
    current = tool;
    $("welcome").hidden = true;
    $("tool").hidden = false;
    $("tool-title").textContent = tool.title;
    $("tool-desc").textContent = tool.description;
    $("tool-method").textContent = tool.method;
    $("tool-path").textContent = tool.path;
    $("tool-name").textContent = tool.name;
    $("tool-docs").setAttribute("href", "/docs#op-" + encodeURIComponent(tool.name));
    document.title = tool.title + " · dev-utilities playground";
    const examples = $("examples");
    examples.textContent = "";
    if (tool.examples.length) examples.append(el("span", { class: "muted" }, "Examples:"));
    tool.examples.forEach((example, index) => {
      const button = el("button", { type: "button", class: "example", "data-example": String(index), title: JSON.stringify(example) },
        (index + 1) + ". " + (JSON.stringify(example) === "{}" ? "defaults" : JSON.stringify(example)));
      button.addEventListener("click", () => { fillForm(example); onFormChange(); });
      examples.append(button);
    });
    renderForm(tool);
    fillForm(args || (tool.examples.length ? tool.examples[0] : {}));
    $("result").textContent = "";
    for (const link of document.querySelectorAll("#tool-list a")) {
      link.setAttribute("aria-current", link.dataset.tool === name ? "true" : "false");
    }
    updateCommands();
    if (push) {
      const params = new URLSearchParams({ tool: name });
      const now = shareable(collectArgs().args);
      if (Object.keys(now).length) params.set("args", JSON.stringify(now));
      written = "#" + params.toString();
      history.pushState(null, "", written);
    } else {
      toUrl(collectArgs().args);
    }
  }

  async function run() {
    if (!current) return;
    const { args, problems } = collectArgs();
    const result = $("result");
    if (problems.length) {
      result.textContent = "";
      result.append(window.DU.renderOutcome({ ok: false, status: 0, ms: 0,
        error: { code: "NOT_SENT", message: "Fix the form first", details: problems.join("\n") } }));
      return;
    }
    toUrl(args);
    const button = $("run");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    const outcome = await window.DU.api(current.method, current.path, args);
    button.disabled = false;
    result.removeAttribute("aria-busy");
    result.textContent = "";
    result.append(window.DU.renderOutcome(outcome));
  }

  // ---- wiring -----------------------------------------------------------------------------

  function start() {
    window.DU.initTheme($("theme-toggle"));
    window.DU.initKeyField($("api-key"), () => { updateCommands(); loadTools(); });
    const search = $("search");
    window.DU.bindSearchKey(search);
    search.addEventListener("input", renderList);
    search.addEventListener("keydown", (event) => {
      const first = document.querySelector("#tool-list a");
      if (!first) return;
      if (event.key === "Enter") { event.preventDefault(); first.click(); }
      if (event.key === "ArrowDown") { event.preventDefault(); first.focus(); }
    });
    $("tool-list").addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      const links = Array.from(document.querySelectorAll("#tool-list a"));
      const index = links.indexOf(document.activeElement);
      if (index < 0) return;
      event.preventDefault();
      const next = links[index + (event.key === "ArrowDown" ? 1 : -1)];
      if (next) next.focus(); else if (event.key === "ArrowUp") search.focus();
    });
    $("tool-form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !$("tool").hidden) { event.preventDefault(); run(); }
    });
    $("reset").addEventListener("click", () => { fillForm({}); onFormChange(); });
    $("copy-curl").addEventListener("click", (event) => window.DU.copy($("curl-cmd").textContent, event.currentTarget));
    $("copy-cli").addEventListener("click", (event) => window.DU.copy($("cli-cmd").textContent, event.currentTarget));
    window.addEventListener("hashchange", fromUrl);
    window.addEventListener("popstate", fromUrl);
    loadTools();
  }

  start();
})();
