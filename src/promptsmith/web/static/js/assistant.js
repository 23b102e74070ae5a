// The assistant chat panel: prompt-assistant/stream NDJSON, rendered as it arrives.
// mode badge · status labels · collapsible reasoning · reply · draft-ready diff with
// Accept / Reject · ai-setup-required card · error events.

import { ndjson } from "./api.js";
import { bearer } from "./auth.js";
import { errorCard, failureCard, setupCard } from "./cards.js";
import { lineDiff } from "./diff.js";
import { $, clear, h, scrollToEnd } from "./dom.js";

const MODE_TEXT = { chat: "Chat", clarify: "Clarify", draft: "Draft" };

export class AssistantPanel {
  constructor(studio) {
    this.studio = studio;
    this.log = $("assistant-log");
    this.input = $("assistant-input");
    this.history = [];
    this.controller = null;
    $("assistant-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.send();
      }
    });
    $("assistant-stop").addEventListener("click", () => this.controller && this.controller.abort());
    $("assistant-clear").addEventListener("click", () => {
      if (this.controller) this.controller.abort();
      this.history = [];
      clear(this.log);
    });
  }

  async send() {
    const instruction = this.input.value.trim();
    if (!instruction || this.controller) return;
    this.input.value = "";
    this.log.append(h("div", { class: "msg msg-user" }, h("div", { class: "bubble" }, instruction)));
    const turn = new Turn(this.studio);
    this.log.append(turn.element);
    scrollToEnd(this.log);
    this.controller = new AbortController();
    $("assistant-send").disabled = true;
    $("assistant-stop").hidden = false;
    const body = {
      instruction,
      currentPrompt: this.studio.editor.value,
      conversationHistory: this.history.slice(),
      ...this.studio.options(),
    };
    try {
      for await (const event of ndjson("/api/ai/prompt-assistant/stream", body, {
        headers: bearer(),
        signal: this.controller.signal,
      })) {
        turn.handle(event);
        scrollToEnd(this.log);
      }
    } catch (err) {
      if (err.name === "AbortError") turn.stopped();
      else turn.fail(err);
    } finally {
      turn.finish();
      this.controller = null;
      $("assistant-send").disabled = false;
      $("assistant-stop").hidden = true;
    }
    this.history.push({ role: "user", content: instruction });
    if (turn.reply.trim()) this.history.push({ role: "assistant", content: turn.reply });
  }
}

class Turn {
  constructor(studio) {
    this.studio = studio;
    this.reply = "";
    this.badge = h("span", { class: "mode-badge", hidden: true });
    this.status = h("span", { class: "status-label", role: "status" }, "Sending…");
    this.statusTrail = h("ol", { class: "status-trail" });
    this.reasoningText = h("pre", { class: "reasoning-text" });
    this.reasoning = h("details", { class: "reasoning", hidden: true },
      h("summary", {}, "Reasoning"), this.reasoningText);
    this.text = h("div", { class: "reply-text" });
    this.extras = h("div", { class: "turn-extras" });
    this.element = h("div", { class: "msg msg-assistant", "aria-busy": "true" },
      h("div", { class: "turn-head" }, this.badge, this.status),
      this.statusTrail, this.reasoning, h("div", { class: "bubble" }, this.text), this.extras);
  }

  handle(event) {
    switch (event.type) {
      case "mode":
        this.badge.hidden = false;
        this.badge.textContent = MODE_TEXT[event.mode] || event.mode;
        this.badge.className = `mode-badge mode-${event.mode}`;
        this.badge.setAttribute("title", `Mode: ${event.mode}`);
        break;
      case "status":
        this.setStatus(event.label);
        break;
      case "reasoning-delta":
        this.reasoning.hidden = false;
        this.reasoningText.textContent += event.delta;
        break;
      case "assistant-delta":
        this.reply += event.delta;
        this.text.textContent = this.reply;
        break;
      case "draft-ready":
        this.extras.append(draftCard(event, this.studio));
        break;
      case "ai-setup-required":
        this.extras.append(setupCard(event));
        break;
      case "error":
        this.extras.append(errorCard(event.error || "Error", event.message));
        break;
      case "done":
        this.done = true;
        break;
      default:
        break;
    }
  }

  setStatus(label) {
    if (!label) return;
    if (this.status.textContent && this.status.textContent !== "Sending…") {
      this.statusTrail.append(h("li", {}, this.status.textContent));
    }
    this.status.textContent = label;
  }

  stopped() {
    this.extras.append(h("p", { class: "muted small" }, "Stopped."));
  }

  fail(err) {
    this.extras.append(failureCard(err));
  }

  finish() {
    this.setStatus(this.done ? "Done" : "Ended");
    this.element.setAttribute("aria-busy", "false");
    this.element.classList.add("finished");
  }
}

function draftCard(event, studio) {
  const before = studio.editor.value;
  const diff = lineDiff(before, event.prompt || "");
  const summary = Array.isArray(event.summary) ? event.summary : event.summary ? String(event.summary).split("\n") : [];
  const warnings = event.warnings || [];
  const diagnostics = event.diagnostics || [];
  const status = h("p", { class: "draft-status small", role: "status" });
  const accept = h("button", { type: "button", class: "btn primary" }, "Accept");
  const reject = h("button", { type: "button", class: "btn" }, "Reject");
  const card = h("section", { class: "card draft-card", "aria-label": "Draft ready" },
    h("h3", {}, "Draft ready",
      event.section ? h("span", { class: "muted small" }, ` · section <${event.section}>`) : null,
      h("span", { class: "muted small" }, ` · +${diff.added} −${diff.removed}`)),
    summary.length ? h("ul", { class: "summary" }, summary.filter(Boolean).map((s) => h("li", {}, s))) : null,
    warnings.length ? h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, typeof w === "string" ? w : JSON.stringify(w)))) : null,
    diagnostics.length ? h("ul", { class: "diagnostic-list" }, diagnostics.map((d) =>
      h("li", { class: `diagnostic sev-${d.severity}` }, h("span", { class: `sev sev-${d.severity}` }, d.severity), " ", d.message))) : null,
    diff.element,
    h("div", { class: "row" }, accept, reject),
    status);
  const settle = (text) => {
    accept.disabled = true;
    reject.disabled = true;
    status.textContent = text;
    card.classList.add("settled");
  };
  accept.addEventListener("click", () => {
    studio.editor.value = event.prompt;
    settle("Accepted: the editor now holds this draft.");
  });
  reject.addEventListener("click", () => settle("Rejected: the editor is unchanged."));
  return card;
}
