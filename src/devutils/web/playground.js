/* The playground: tool catalogue from GET /api/v1/tools, a form per tool generated from its input
   schema, calls through the REST API, results for people, curl/CLI equivalents, state in the URL. */
"use strict";

(function () {
  const { el } = window.DU;
  const $ = (id) => document.getElementById(id);
  const LONG_TEXT = /^(content|text|token|certificate|input|data|pem|hash|body|json)$/i;

  let tools = [];
  let current = null; // the selected tool's listing entry

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

  // The one non-null branch of an Optional[...] (anyOf [..., {type: null}]).
  function effective(schema) {
    if (schema.anyOf) {
      const branches = schema.anyOf.filter((s) => s.type !== "null");
      if (branches.length === 1) return Object.assign({}, schema, branches[0], { nullable: true });
    }
    return schema;
  }

  function kindOf(name, schema) {
    if (schema.enum) return "enum";
    if (schema.type === "boolean") return "boolean";
    if (schema.type === "integer" || schema.type === "number") return "number";
    if (schema.type === "object" || schema.type === "array" || !schema.type) return "json";
    if (LONG_TEXT.test(name) || (schema.maxLength || 0) > 200) return "text";
    return "string";
  }

  function buildField(name, raw, required) {
    const schema = effective(raw);
    const kind = kindOf(name, schema);
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
      } else {
        control = el("input", { type: "text", id, spellcheck: "false", autocomplete: "off",
          placeholder: schema.default ? String(schema.default) : "" });
      }
      wrap.append(label, control);
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
      const kind = kindOf(name, prop);
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
      const kind = kindOf(name, prop);
      const has = Object.prototype.hasOwnProperty.call(args, name) && args[name] !== null;
      const value = args[name];
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

  function updateCommands() {
    if (!current) return;
    const { args } = collectArgs();
    const json = JSON.stringify(args);
    const url = window.location.origin + current.path;
    const lines = ["curl -sS -X " + current.method + " " + window.DU.shellQuote(url)];
    const auth = window.DU.authHeaders();
    // The key itself never appears in a command on screen: the shell reads it from a variable.
    if (auth.Authorization) lines.push("-H \"Authorization: Bearer $DEVUTILS_TOKEN\"");
    if (auth["X-API-Key"]) lines.push("-H \"X-API-Key: $DEVUTILS_API_KEY\"");
    if (current.method !== "GET") {
      lines.push("-H 'Content-Type: application/json'");
      lines.push("-d " + window.DU.shellQuote(json));
    }
    $("curl-cmd").textContent = lines.join(" \\\n  ");
    const cli = current.cli + (current.method !== "GET" && json !== "{}" ? " --json " + window.DU.shellQuote(json) : "");
    $("cli-cmd").textContent = cli;
  }

  function toUrl(args) {
    if (!current) return;
    const params = new URLSearchParams();
    params.set("tool", current.name);
    if (args && Object.keys(args).length) params.set("args", JSON.stringify(args));
    const hash = "#" + params.toString();
    if (window.location.hash !== hash) history.replaceState(null, "", hash);
  }

  function fromUrl() {
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
      const { args: now } = collectArgs();
      if (Object.keys(now).length) params.set("args", JSON.stringify(now));
      history.pushState(null, "", "#" + params.toString());
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
