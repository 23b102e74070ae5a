// The prompt studio: editor, live lint, variables, model picker, Generate and Rewrite selection.

import { ApiError, call } from "./api.js";
import { bearer } from "./auth.js";
import { failureCard } from "./cards.js";
import { inlineDiff } from "./diff.js";
import { $, clear, debounce, h } from "./dom.js";
import { Editor } from "./editor.js";
import { VariablesPanel } from "./variables.js";

const LINT_DELAY_MS = 400;

export const SAMPLE_PROMPT = `<prompt>
  <role>You are a friendly leasing assistant for @companyName.</role>
  <goal>Help @lead.firstName book an apartment tour.</goal>
  <rules>
    <rule>Always confirm the tour date and time.</rule>
    <rule>Never promise discounts.</rule>
  </rules>
  <output_format>Two or three short sentences.</output_format>
</prompt>`;

export class Studio {
  constructor() {
    this.editor = new Editor();
    this.variables = new VariablesPanel();
    this.notice = $("studio-notice");
    this.lintState = $("lint-state");
    this.diagnostics = $("diagnostics");
    this.lintAvailable = true;
    this.lintSeq = 0;
    this.pendingRewrite = null;
    this.lintSoon = debounce(() => this.lint(), LINT_DELAY_MS);
    this.editor.onChange((text) => {
      this.variables.showUsage(text);
      this.lintSoon();
      this.discardRewrite();
    });
    this.variables.onChange(() => {
      this.variables.showUsage(this.editor.value);
      this.lintSoon();
    });
    this.bindModelPicker();
    this.bindGenerate();
    this.bindRewrite();
    this.editor.value = SAMPLE_PROMPT;
  }

  // --- request options shared with the assistant --------------------------------------
  options() {
    const body = {
      variableContext: this.variables.context(),
      assistedMode: $("assisted-mode").checked,
    };
    const provider = $("provider-select").value;
    const model = $("model-input").value.trim();
    if (provider && model) body.modelOverride = { provider, model };
    return body;
  }

  bindModelPicker() {
    const select = $("provider-select");
    const model = $("model-input");
    const sync = () => {
      model.disabled = !select.value;
      model.required = Boolean(select.value);
    };
    select.addEventListener("change", sync);
    sync();
  }

  say(node) {
    clear(this.notice);
    if (node) this.notice.append(node);
  }

  busy(button, on, label) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    if (label) button.textContent = label;
  }

  // --- Generate (nl-create) -------------------------------------------------------------
  bindGenerate() {
    $("generate-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const instruction = $("generate-instruction").value.trim();
      if (!instruction) {
        $("generate-instruction").focus();
        return;
      }
      await this.generate(instruction);
    });
  }

  async generate(instruction) {
    const button = $("generate-button");
    this.busy(button, true, "Generating…");
    this.say(h("span", { class: "muted" }, "Generating a prompt…"));
    try {
      const reply = await call("/api/ai/nl-create", {
        method: "POST",
        headers: bearer(),
        body: { instruction, ...this.options() },
      });
      this.editor.value = reply.prompt;
      const warnings = reply.warnings || [];
      this.say(h("div", { class: "card ok-card" },
        h("strong", {}, "Prompt generated."),
        warnings.length ? h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, String(w)))) : null));
    } catch (err) {
      this.say(failureCard(err));
    } finally {
      this.busy(button, false, "Generate");
    }
  }

  // --- live lint --------------------------------------------------------------------------
  async lint() {
    if (!this.lintAvailable) return;
    const seq = ++this.lintSeq;
    const prompt = this.editor.value;
    if (!prompt.trim()) {
      this.showDiagnostics([]);
      return;
    }
    this.lintState.textContent = "(checking…)";
    try {
      const reply = await call("/api/ai/prompt-lint", {
        method: "POST",
        headers: bearer(),
        body: { prompt, variableContext: this.variables.context() },
      });
      if (seq !== this.lintSeq) return;
      this.showDiagnostics(reply.diagnostics || []);
    } catch (err) {
      if (seq !== this.lintSeq) return;
      this.editor.setMarks([]);
      clear(this.diagnostics);
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        this.lintAvailable = false; // an older server without the linter: no diagnostics
        this.lintState.textContent = "(not available on this server)";
      } else if (err instanceof ApiError && err.status === 401) {
        this.lintState.textContent = "(sign in to lint)";
      } else {
        this.lintState.textContent = `(lint failed: ${err.message})`;
      }
    }
  }

  showDiagnostics(diagnostics) {
    this.editor.setMarks(diagnostics);
    clear(this.diagnostics);
    this.lintState.textContent = diagnostics.length
      ? `(${diagnostics.length} issue${diagnostics.length === 1 ? "" : "s"})`
      : "(no issues)";
    for (const d of diagnostics) this.diagnostics.append(diagnosticItem(d, this.editor));
  }

  // --- Rewrite selection (nl-edit) --------------------------------------------------------
  bindRewrite() {
    const form = $("rewrite-form");
    const update = () => {
      const { text } = this.editor.selection();
      if (text.trim()) {
        form.hidden = false;
        $("rewrite-selection-info").textContent = `${text.length} characters selected`;
      } else if (!this.rewriting) {
        form.hidden = true;
      }
    };
    for (const type of ["select", "keyup", "mouseup", "input"]) {
      this.editor.input.addEventListener(type, update);
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await this.rewrite();
    });
    $("rewrite-apply").addEventListener("click", () => this.applyRewrite());
    $("rewrite-discard").addEventListener("click", () => this.discardRewrite());
  }

  async rewrite() {
    const selection = this.editor.selection();
    const instruction = $("rewrite-instruction").value.trim();
    if (!selection.text.trim() || !instruction) {
      $("rewrite-instruction").focus();
      return;
    }
    const button = $("rewrite-button");
    this.rewriting = true;
    this.busy(button, true, "Rewriting…");
    this.say(null);
    try {
      const fullPrompt = this.editor.value;
      const reply = await call("/api/ai/nl-edit", {
        method: "POST",
        headers: bearer(),
        body: { selectedText: selection.text, instruction, fullPrompt, ...this.options() },
      });
      this.showRewrite({ ...selection, prompt: fullPrompt, rewritten: reply.rewrittenText });
    } catch (err) {
      this.say(failureCard(err));
    } finally {
      this.rewriting = false;
      this.busy(button, false, "Rewrite selection");
    }
  }

  showRewrite(pending) {
    this.pendingRewrite = pending;
    clear($("rewrite-diff")).append(inlineDiff(pending.text, pending.rewritten));
    $("rewrite-preview").hidden = false;
    $("rewrite-apply").focus();
  }

  applyRewrite() {
    const pending = this.pendingRewrite;
    if (!pending) return;
    this.pendingRewrite = null;
    $("rewrite-preview").hidden = true;
    $("rewrite-form").hidden = true;
    if (this.editor.value !== pending.prompt) {
      this.say(failureCard(new Error("The prompt changed since the rewrite was requested; rewrite again.")));
      return;
    }
    this.editor.replaceRange(pending.start, pending.end, pending.rewritten);
    this.say(h("div", { class: "card ok-card" }, h("strong", {}, "Rewrite applied.")));
  }

  discardRewrite() {
    if (!this.pendingRewrite) return;
    this.pendingRewrite = null;
    $("rewrite-preview").hidden = true;
  }
}

function locationText(location) {
  if (!location || typeof location !== "object") return location ? String(location) : "";
  const parts = [];
  if (location.line) parts.push(`line ${location.line}${location.column ? `:${location.column}` : ""}`);
  if (location.path) parts.push(location.path);
  return parts.join(" · ");
}

function diagnosticItem(d, editor) {
  const severity = d.severity || "info";
  const where = locationText(d.location);
  const line = d.location && d.location.line;
  const label = h("span", { class: `sev sev-${severity}` }, severity);
  const body = [label, " ", h("code", {}, d.code || ""), " ", d.message || "", where ? h("span", { class: "muted small" }, ` (${where})`) : null];
  if (!line) return h("li", { class: `diagnostic sev-${severity}` }, body);
  return h("li", { class: `diagnostic sev-${severity}` },
    h("button", { type: "button", class: "link", onclick: () => editor.goTo(line, d.location.column || 1) }, body));
}
