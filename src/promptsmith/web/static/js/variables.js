// The variables panel: rows of (group, name, example) <-> variableContext.
//   flat:    {"firstName": "Ana"}               -> @firstName
//   grouped: {"lead": {"firstName": "Ana"}}     -> @lead.firstName

import { $, clear, h } from "./dom.js";

const NAME = /^[A-Za-z_][\w]*$/;

export class VariablesPanel {
  constructor() {
    this.body = $("variables-body");
    this.json = $("variables-json");
    this.inUse = $("variables-in-use");
    this.listeners = new Set();
    $("add-variable").addEventListener("click", () => {
      const row = this.addRow();
      row.querySelector("input[data-field=name]").focus();
    });
    this.setContext({ lead: { firstName: "Ana" }, companyName: "Acme Living" });
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  changed() {
    this.json.textContent = JSON.stringify(this.context(), null, 2);
    this.listeners.forEach((fn) => fn(this.context()));
  }

  addRow(group = "", name = "", value = "") {
    const index = this.body.children.length + 1;
    const input = (field, val, label) =>
      h("input", { type: "text", value: val, "data-field": field, "aria-label": `${label} ${index}`,
        spellcheck: "false", oninput: () => this.changed() });
    const row = h("tr", {},
      h("td", {}, input("group", group, "Group")),
      h("td", {}, input("name", name, "Name")),
      h("td", {}, input("value", value, "Example value")),
      h("td", {}, h("button", { type: "button", class: "btn small", "aria-label": `Remove variable ${index}`,
        onclick: () => { row.remove(); this.changed(); } }, "×")));
    this.body.append(row);
    return row;
  }

  setContext(context) {
    clear(this.body);
    for (const [key, value] of Object.entries(context || {})) {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [field, example] of Object.entries(value)) this.addRow(key, field, String(example ?? ""));
      } else {
        this.addRow("", key, String(value ?? ""));
      }
    }
    this.changed();
  }

  rows() {
    return [...this.body.querySelectorAll("tr")].map((row) => {
      const get = (field) => row.querySelector(`input[data-field=${field}]`).value.trim();
      return { group: get("group"), name: get("name"), value: get("value") };
    });
  }

  context() {
    const context = {};
    for (const { group, name, value } of this.rows()) {
      if (!NAME.test(name) || (group && !NAME.test(group))) continue;
      if (group) {
        if (typeof context[group] !== "object") context[group] = {};
        context[group][name] = value;
      } else {
        context[name] = value;
      }
    }
    return context;
  }

  // Names the prompt uses, marked known/unknown against the panel.
  showUsage(promptText) {
    const known = new Set();
    for (const [key, value] of Object.entries(this.context())) {
      if (value && typeof value === "object") Object.keys(value).forEach((f) => known.add(`${key}.${f}`));
      else known.add(key);
    }
    const used = [...new Set(promptText.match(/@[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*/g) || [])];
    clear(this.inUse);
    if (!used.length) {
      this.inUse.textContent = "none";
      return;
    }
    used.forEach((name, i) => {
      if (i) this.inUse.append(", ");
      const ok = known.has(name.slice(1));
      this.inUse.append(h("code", { class: ok ? "var-ok" : "var-unknown",
        title: ok ? "declared" : "not in variableContext" }, name));
    });
  }
}
