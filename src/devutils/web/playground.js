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
  // The number of the latest call.  select() and run() move it on, so the answer to any earlier
  // call (another tool, other input) is dropped when it arrives instead of shown under this one.
  let calls = 0;
  // A field longer than this updates the address and the commands after a pause, not on every
  // keystroke (a 1 MB text took over half a second per key); arguments longer than URL_ARGS_MAX
  // stay out of the address (no multi-megabyte URLs in the history).
  const LARGE_FIELD = 20000;
  const URL_ARGS_MAX = 8000;
  const SETTLE_MS = 400;
  let pendingRefresh = null;

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

  // The links a user can see: a collapsed family hides its own.
  function visibleLinks() { return Array.from(document.querySelectorAll("#tool-list details[open] a[data-tool]")); }

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
        const problem = numberArg(args, name, prop, control);
        if (problem) problems.push(name + ": " + problem);
      } else if (kind === "json") {
        if (control.value.trim() !== "") {
          try { args[name] = window.DU.parseJson(control.value); } catch (e) { problems.push(name + ": not valid JSON (" + e.message + ")"); }
        }
      } else if (empty && empty.checked) {
        args[name] = "";
      } else if (control.value !== "" || required.has(name)) {
        args[name] = control.value;
      }
    }
    return { args, problems };
  }

  // A number field into args[name], or the reason it cannot be sent.  A browser empties the value
  // of text it cannot read as a number ("5-", "1,5"): that is an error, not the server's default.
  // An integer beyond 2^53 is sent with the digits as typed (a BigInt, written back exactly).
  function numberArg(args, name, prop, control) {
    const text = control.value.trim();
    if (control.validity && control.validity.badInput) return "not a number";
    if (text === "") return null;
    if (prop.type === "integer" && /^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text))) {
      if (!window.DU.lossless) return text + " is beyond the integers this browser can send exactly (" + Number.MAX_SAFE_INTEGER + ")";
      args[name] = BigInt(text);
      return null;
    }
    const number = Number(text);
    if (Number.isNaN(number)) return "not a number";
    args[name] = number;
    return null;
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
          const wanted = window.DU.toJson(value);
          control.value = wanted;
          if (control.value !== wanted) { // a value the enum does not list: keep it visible
            control.append(el("option", { value: wanted }, String(value)));
            control.value = wanted;
          }
        }
      } else if (kind === "json") control.value = has ? window.DU.toJson(value, 2) : "";
      else control.value = has ? String(value) : "";
    }
  }

  // ---- commands and URL state ---------------------------------------------------------------

  function secretKeys(tool) {
    const props = (tool.inputSchema || {}).properties || {};
    return Object.keys(props).filter((name) => isSecret(kindOf(effective(props[name]))));
  }

  function has(object, name) { return Object.prototype.hasOwnProperty.call(object, name); }

  // A local "#/$defs/..." reference of the tool's schema, followed.
  function deref(root, schema) {
    if (!schema || typeof schema.$ref !== "string" || !schema.$ref.startsWith("#/")) return schema;
    return schema.$ref.slice(2).split("/").reduce((node, part) => (node ? node[part] : undefined), root);
  }

  // Fields that hold pipeline steps: lists of {tool, args}.
  function stepFields() {
    const schema = current.inputSchema || {};
    const props = schema.properties || {};
    return Object.keys(props).filter((name) => {
      const items = deref(schema, props[name].items);
      return Boolean(items && items.properties && items.properties.tool && items.properties.args);
    });
  }

  // A step's tool as the server finds it: a REST path, a name, or a name spelling a path.
  function stepTool(ref) {
    if (typeof ref !== "string") return null;
    if (ref.startsWith("/")) return tools.find((t) => t.path === ref) || null;
    return tools.find((t) => t.name === ref) || tools.find((t) => t.path === "/api/v1/" + ref.replace(/_/g, "/")) || null;
  }

  // "$prev.hash" or "$<id>.x": an earlier step's output, not a secret of its own (the server's
  // reference syntax; "$$..." is an escaped literal, and a bare "$name" is kept out as well).
  function isReference(value) { return typeof value === "string" && /^\$[A-Za-z_][A-Za-z0-9_]*(\.[^.]+)+$/.test(value); }

  // Where args hold secrets, as key paths: the tool's own secret fields, and in pipeline steps
  // each step's arguments that its tool's schema marks secret (the same writeOnly rule).
  function secretPaths(args) {
    if (!current) return [];
    const paths = secretKeys(current).filter((name) => has(args, name)).map((name) => [name]);
    for (const field of stepFields()) {
      if (!Array.isArray(args[field])) continue;
      args[field].forEach((step, index) => {
        const tool = step && typeof step === "object" ? stepTool(step.tool) : null;
        const stepArgs = tool && step.args;
        if (!stepArgs || typeof stepArgs !== "object") return;
        for (const name of secretKeys(tool)) {
          if (has(stepArgs, name) && !isReference(stepArgs[name])) paths.push([field, index, "args", name]);
        }
      });
    }
    return paths;
  }

  // The arguments without their secrets: what the URL (history, a shared link) may carry.
  function shareable(args, paths) {
    paths = paths || secretPaths(args);
    if (!paths.length) return args;
    const out = structuredClone(args);
    for (const path of paths) {
      const parent = path.slice(0, -1).reduce((node, key) => node[key], out);
      delete parent[path[path.length - 1]];
    }
    return out;
  }

  // privateKey → private_key: the CLI's field name, for its --private-key-env flag and the variable.
  function snake(name) { return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()); }
  function envVar(name) { return "DEVUTILS_" + snake(name).toUpperCase(); }
  // The jq variable of a secret: its field name, or step<N>_<field> inside pipeline step N.
  function jqVar(path) { return path.length === 1 ? path[0] : "step" + (path[1] + 1) + "_" + snake(path[3]); }
  function jqPath(path) { return "." + path.map((key) => "[" + JSON.stringify(key) + "]").join(""); }

  // A jq command that writes the body with the secrets read from variables: a PEM key's line
  // breaks, quotes and backslashes must be escaped as JSON, which splicing the variable into a
  // quoted body would not do.
  function jqBody(args, paths) {
    const named = paths.map((path) => "--arg " + jqVar(path) + " \"$" + envVar(jqVar(path)) + "\"").join(" ");
    const filter = [window.DU.toJson(shareable(args, paths))].concat(paths.map((path) => jqPath(path) + " = $" + jqVar(path))).join(" | ");
    return "jq -cn " + named + " " + window.DU.shellQuote(filter);
  }

  function updateCommands(args) {
    if (!current) return;
    args = args || collectArgs().args;
    const paths = current.method === "GET" ? [] : secretPaths(args);
    const url = window.location.origin + current.path;
    const lines = [];
    let data = "-d " + window.DU.shellQuote(window.DU.toJson(args));
    if (paths.length) {
      // Secrets go through variables, like the API key.
      lines.push(jqBody(args, paths) + " |");
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
    if (paths.some((path) => path.length > 1)) {
      // The CLI's --FIELD-env flags name top-level fields only: a secret inside a step comes
      // through the same jq body on stdin.
      cli = jqBody(args, paths) + " | " + cli + " --json -";
    } else if (current.method !== "GET") {
      for (const [name] of paths) cli += " --" + snake(name).replace(/_/g, "-") + "-env " + envVar(name);
      const rest = window.DU.toJson(shareable(args, paths));
      if (rest !== "{}") cli += " --json " + window.DU.shellQuote(rest);
    }
    $("cli-cmd").textContent = cli;
  }

  // The address for args: the tool, and the arguments without secrets when they are small enough.
  function hashFor(args) {
    const params = new URLSearchParams();
    params.set("tool", current.name);
    const shared = window.DU.toJson(shareable(args || {}));
    const tooLarge = shared.length > URL_ARGS_MAX;
    if (shared !== "{}" && !tooLarge) params.set("args", shared);
    window.DU.notice($("url-note"), tooLarge ? "The input (" + shared.length + " characters) is too large for the page " +
      "address: the address names the tool only, so a link to it opens the tool without this input." : null);
    return "#" + params.toString();
  }

  function toUrl(args) {
    if (!current) return;
    const hash = hashFor(args);
    written = hash;
    if (window.location.hash !== hash) history.replaceState(null, "", hash);
  }

  function fromUrl() {
    if (written !== null && window.location.hash === written) return;
    const params = new URLSearchParams(window.location.hash.slice(1));
    const name = params.get("tool");
    if (!name) return;
    let args = null;
    try { args = params.has("args") ? window.DU.parseJson(params.get("args")) : null; } catch (e) { args = null; }
    select(name, args && typeof args === "object" ? args : null, false);
  }

  function refresh() {
    clearTimeout(pendingRefresh);
    pendingRefresh = null;
    const { args } = collectArgs();
    updateCommands(args);
    toUrl(args);
  }

  function onFormChange(event) {
    const target = event && event.target;
    if (target && typeof target.value === "string" && target.value.length > LARGE_FIELD) {
      clearTimeout(pendingRefresh);
      pendingRefresh = setTimeout(refresh, SETTLE_MS);
      return;
    }
    refresh();
  }

  // No call in flight any more (as far as this page shows).
  function idle() {
    $("run").disabled = false;
    $("result").removeAttribute("aria-busy");
  }

  // ---- selection and calls -----------------------------------------------------------------

  function select(name, args, push) {
    const tool = tools.find((t) => t.name === name);
    if (!tool) {
      window.DU.notice($("notice"), "No tool named " + name + " on this server.");
      return;
    }
    window.DU.notice($("notice"), null);
    calls += 1; // an answer still on its way belongs to the previous view
    idle();
    clearTimeout(pendingRefresh);
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
      const text = window.DU.toJson(example);
      const button = el("button", { type: "button", class: "example", "data-example": String(index), title: text },
        (index + 1) + ". " + (text === "{}" ? "defaults" : text));
      button.addEventListener("click", () => { fillForm(example); onFormChange(); });
      examples.append(button);
    });
    renderForm(tool);
    fillForm(args || (tool.examples.length ? tool.examples[0] : {}));
    $("result").textContent = "";
    for (const link of document.querySelectorAll("#tool-list a")) {
      link.setAttribute("aria-current", link.dataset.tool === name ? "true" : "false");
    }
    const now = collectArgs().args;
    updateCommands(now);
    if (push) {
      written = hashFor(now);
      history.pushState(null, "", written);
    } else {
      toUrl(now);
    }
  }

  async function run() {
    // One call at a time: the disabled Run button and Ctrl+Enter follow the same rule.
    if (!current || $("run").disabled) return;
    const { args, problems } = collectArgs();
    const result = $("result");
    if (problems.length) {
      result.textContent = "";
      result.append(window.DU.renderOutcome({ ok: false, status: 0, ms: 0,
        error: { code: "NOT_SENT", message: "Fix the form first", details: problems.join("\n") } }));
      return;
    }
    updateCommands(args);
    toUrl(args);
    const call = ++calls;
    $("run").disabled = true;
    result.setAttribute("aria-busy", "true");
    const outcome = await window.DU.api(current.method, current.path, args);
    if (call !== calls) return; // late: another tool or another call is on screen now
    idle();
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
      const first = visibleLinks()[0];
      if (!first) return;
      if (event.key === "Enter") { event.preventDefault(); first.click(); }
      if (event.key === "ArrowDown") { event.preventDefault(); first.focus(); }
    });
    $("tool-list").addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      const links = visibleLinks();
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
