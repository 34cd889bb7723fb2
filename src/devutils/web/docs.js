/* The API reference: a small renderer of GET /openapi.json (operations by tag, their request and
   response schemas, a "try it" that sends the request through this page) and the schemas. */
"use strict";

(function () {
  const { el } = window.DU;
  const $ = (id) => document.getElementById(id);
  let doc = null;

  function resolve(schema) {
    let seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      const parts = schema.$ref.replace(/^#\//, "").split("/");
      schema = parts.reduce((node, part) => (node ? node[part] : undefined), doc);
    }
    return schema || {};
  }

  function refName(schema) { return schema && schema.$ref ? schema.$ref.split("/").pop() : null; }

  function typeLabel(schema) {
    const name = refName(schema);
    if (name) return el("a", { href: "#schema-" + name }, name);
    if (schema.anyOf) return el("span", {}, schema.anyOf.map((s) => (refName(s) || s.type || "any")).join(" | "));
    if (schema.enum) return el("span", {}, (schema.type || "") + " ∈ {" + schema.enum.map((v) => JSON.stringify(v)).join(", ") + "}");
    if (schema.const !== undefined) return el("span", {}, "= " + JSON.stringify(schema.const));
    if (schema.type === "array") return el("span", {}, "array of ", typeLabel(schema.items || {}));
    return el("span", {}, schema.type || "any");
  }

  function constraints(schema) {
    const out = [];
    for (const key of ["minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "format"]) {
      if (schema[key] !== undefined) out.push(key + " " + schema[key]);
    }
    if (schema.default !== undefined) out.push("default " + JSON.stringify(schema.default));
    return out.join(", ");
  }

  function propsTable(schema) {
    const target = resolve(schema);
    const props = Object.entries(target.properties || {});
    if (!props.length) return el("p", { class: "muted" }, target.type ? "Type: " + target.type : "Any JSON value.");
    const required = new Set(target.required || []);
    const table = el("table", { class: "kv schema-props" },
      el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "description")));
    for (const [name, prop] of props) {
      const extra = constraints(prop);
      table.append(el("tr", {},
        el("td", {}, el("code", {}, name), required.has(name) ? el("span", { class: "req", title: "required" }, " *") : null),
        el("td", {}, typeLabel(prop)),
        el("td", {}, prop.description || "", extra ? el("div", { class: "muted" }, extra) : null)));
    }
    return table;
  }

  function tryIt(method, path, op) {
    const content = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    const examples = content && content.examples ? Object.values(content.examples).map((e) => e.value) : [];
    const area = el("textarea", { rows: "6", spellcheck: "false", "aria-label": "Request body" });
    area.value = window.DU.toJson(examples[0] || {}, 2);
    const output = el("div", { class: "try-output", "aria-live": "polite" });
    const send = el("button", { type: "button", class: "primary" }, "Send " + method.toUpperCase());
    send.addEventListener("click", async () => {
      let args = {};
      if (method !== "get") {
        try { args = window.DU.parseJson(area.value || "{}"); } catch (e) {
          output.textContent = "";
          output.append(window.DU.renderOutcome({ ok: false, status: 0, error: { code: "NOT_SENT", message: "The body is not valid JSON", details: e.message } }));
          return;
        }
      }
      send.disabled = true;
      const outcome = await window.DU.api(method.toUpperCase(), path, args);
      send.disabled = false;
      output.textContent = "";
      output.append(window.DU.renderOutcome(outcome));
    });
    const box = el("div", { class: "try" }, el("h3", {}, "Try it"));
    if (method !== "get") {
      box.append(area);
      if (examples.length > 1) {
        const picks = el("div", { class: "examples" }, el("span", { class: "muted" }, "Examples:"));
        examples.forEach((value, index) => {
          const b = el("button", { type: "button" }, String(index + 1));
          b.addEventListener("click", () => { area.value = window.DU.toJson(value, 2); });
          picks.append(b);
        });
        box.append(picks);
      }
    }
    box.append(el("div", { class: "actions" }, send), output);
    return box;
  }

  function operation(method, path, op) {
    const id = "op-" + (op.operationId || (method + path).replace(/\W+/g, "_"));
    const details = el("details", { class: "op", id, "data-search": [method, path, op.summary, op.description, op.operationId, (op.tags || []).join(" ")].join(" ").toLowerCase() });
    details.append(el("summary", {},
      el("span", { class: "method " + method }, method.toUpperCase()), el("code", {}, path), el("span", {}, op.summary || "")));
    const body = el("div", { class: "body" });
    if (op.description) body.append(el("p", {}, op.description));
    const content = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (content) body.append(el("h3", {}, "Request body"), propsTable(content.schema));
    body.append(el("h3", {}, "Responses"));
    const responses = el("table", { class: "kv" });
    for (const [status, response] of Object.entries(op.responses || {})) {
      const schema = response.content && response.content["application/json"] && response.content["application/json"].schema;
      let shape = null;
      if (schema) {
        const data = schema.properties && schema.properties.data;
        shape = data ? el("span", {}, "data: ", typeLabel(data)) : typeLabel(schema);
      }
      responses.append(el("tr", {}, el("th", {}, status), el("td", {}, response.description || "", shape ? el("div", {}, shape) : null)));
    }
    body.append(responses, tryIt(method, path, op));
    details.append(body);
    return details;
  }

  function render() {
    $("api-title").textContent = (doc.info && doc.info.title ? doc.info.title : "API") + " " + (doc.info && doc.info.version ? doc.info.version : "");
    $("api-desc").textContent = (doc.info && doc.info.description) || "";
    const byTag = new Map();
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const [method, op] of Object.entries(item)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([method, path, op]);
      }
    }
    const ops = $("operations");
    const nav = $("op-list");
    ops.textContent = "";
    nav.textContent = "";
    for (const [tag, list] of byTag) {
      const section = el("section", { "data-tag": tag }, el("h2", { class: "tag-title", id: "tag-" + tag }, tag));
      const links = el("ul");
      for (const [method, path, op] of list) {
        const node = operation(method, path, op);
        section.append(node);
        const link = el("a", { href: "#" + node.id, "data-op": node.id }, op.summary || path, el("small", {}, method.toUpperCase() + " " + path));
        link.addEventListener("click", () => { node.open = true; });
        links.append(el("li", {}, link));
      }
      ops.append(section);
      nav.append(el("details", { open: true, "data-tag": tag }, el("summary", {}, tag + " (" + list.length + ")"), links));
    }
    const schemas = $("schema-list");
    schemas.textContent = "";
    for (const name of Object.keys((doc.components && doc.components.schemas) || {})) {
      schemas.append(el("details", { class: "op", id: "schema-" + name },
        el("summary", {}, el("code", {}, name)), el("div", { class: "body" }, propsTable({ $ref: "#/components/schemas/" + name }))));
    }
    openFromHash();
  }

  function openFromHash() {
    const target = window.location.hash ? document.getElementById(decodeURIComponent(window.location.hash.slice(1))) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; target.scrollIntoView(); }
  }

  function filter() {
    const words = $("search").value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const node of document.querySelectorAll("#operations details.op")) {
      const show = words.every((w) => node.dataset.search.includes(w));
      node.hidden = !show;
      const link = document.querySelector('#op-list a[data-op="' + node.id + '"]');
      if (link) link.parentElement.hidden = !show;
    }
    for (const section of document.querySelectorAll("#operations section[data-tag]")) {
      section.hidden = !section.querySelector("details.op:not([hidden])");
    }
  }

  async function load() {
    const outcome = await window.DU.api("GET", "/openapi.json");
    if (outcome.status !== 200 || !outcome.body || !outcome.body.paths) {
      const error = outcome.error || { code: "HTTP_" + outcome.status, message: "no OpenAPI document" };
      const hint = outcome.status === 401 ? " Type the API key (or JWT) above." : "";
      window.DU.notice($("notice"), el("span", {}, "Could not load /openapi.json: ",
        el("span", { class: "error-code" }, error.code), " " + error.message + "." + hint));
      return;
    }
    window.DU.notice($("notice"), null);
    doc = outcome.body;
    render();
    filter();
  }

  window.DU.initTheme($("theme-toggle"));
  window.DU.initKeyField($("api-key"), load);
  window.DU.bindSearchKey($("search"));
  $("search").addEventListener("input", filter);
  window.addEventListener("hashchange", openFromHash);
  load();
})();
