// Shared message cards: errors, and the "AI setup required" card.

import { h } from "./dom.js";

const SETUP_HINTS = {
  anthropic: "Set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a compatible server).",
  openai: "Set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server.",
  google: "Set GEMINI_API_KEY (or GOOGLE_API_KEY).",
};

export function setupCard(event) {
  const provider = event.provider || "the model provider";
  return h("div", { class: "card setup-card", role: "alert" },
    h("h3", {}, "AI provider setup required"),
    h("p", {}, event.message || `${provider} is not configured on this server.`),
    h("dl", { class: "kv" },
      h("dt", {}, "Provider"), h("dd", {}, provider),
      event.reason ? [h("dt", {}, "Reason"), h("dd", {}, event.reason)] : null,
      event.code ? [h("dt", {}, "Code"), h("dd", {}, event.code)] : null),
    h("p", { class: "small" },
      SETUP_HINTS[event.provider] || "Configure a provider's key or base URL, then restart the server.",
      " For a keyless demo run ", h("code", {}, "make demo"), " (the built-in LLM emulator)."),
  );
}

export function errorCard(error, message) {
  return h("div", { class: "card error-card", role: "alert" },
    h("strong", {}, error || "Something went wrong"),
    message ? h("p", {}, message) : null);
}

// An ApiError or any thrown error as a card.
export function failureCard(err) {
  if (err && err.setupRequired) return setupCard(err.body);
  if (err && err.body) return errorCard(err.body.error || `HTTP ${err.status}`, err.body.message);
  return errorCard("Request failed", err && err.message ? err.message : String(err));
}
