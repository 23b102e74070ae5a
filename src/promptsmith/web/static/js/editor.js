// The XML editor: a transparent textarea over a highlighted <pre>, with a line gutter
// that marks lines carrying lint diagnostics.

import { $, clear, h } from "./dom.js";
import { highlightXml } from "./highlight.js";

export class Editor {
  constructor() {
    this.input = $("prompt-editor");
    this.overlay = $("editor-highlight");
    this.gutter = $("editor-gutter");
    this.stats = $("editor-stats");
    this.marks = new Map(); // line -> worst severity
    this.listeners = new Set();
    this.input.addEventListener("input", () => this.changed());
    this.input.addEventListener("scroll", () => this.syncScroll());
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.render();
  }

  get value() {
    return this.input.value;
  }

  set value(text) {
    this.input.value = text;
    this.changed();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  changed() {
    this.render();
    this.listeners.forEach((fn) => fn(this.value));
  }

  // Tab indents (two spaces); Escape then Tab leaves the editor (keyboard users).
  onKey(event) {
    if (event.key === "Escape") {
      this.escaped = true;
      return;
    }
    const plainTab = event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.metaKey;
    const escaped = this.escaped;
    this.escaped = false;
    if (!plainTab || escaped) return;
    event.preventDefault();
    this.input.setRangeText("  ", this.input.selectionStart, this.input.selectionEnd, "end");
    this.changed();
  }

  selection() {
    const { selectionStart: start, selectionEnd: end } = this.input;
    return { start, end, text: this.value.slice(start, end) };
  }

  replaceRange(start, end, text) {
    this.input.focus();
    this.input.setRangeText(text, start, end, "select");
    this.changed();
  }

  goTo(line, column = 1) {
    const lines = this.value.split("\n");
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    this.input.focus();
    this.input.setSelectionRange(offset, offset);
  }

  setMarks(diagnostics) {
    const rank = { error: 3, warning: 2, info: 1 };
    this.marks = new Map();
    for (const d of diagnostics) {
      const line = d.location && d.location.line;
      if (!line) continue;
      const current = this.marks.get(line);
      if (!current || (rank[d.severity] || 0) > (rank[current] || 0)) this.marks.set(line, d.severity);
    }
    this.renderGutter();
  }

  render() {
    clear(this.overlay).append(highlightXml(this.value));
    this.renderGutter();
    const lines = this.value ? this.value.split("\n").length : 0;
    this.stats.textContent = `${lines} lines · ${this.value.length} characters`;
    this.syncScroll();
  }

  renderGutter() {
    const count = Math.max(1, this.value.split("\n").length);
    clear(this.gutter);
    for (let line = 1; line <= count; line++) {
      const severity = this.marks.get(line);
      this.gutter.append(
        h("span", { class: severity ? `gutter-line sev-${severity}` : "gutter-line" }, String(line)),
        "\n",
      );
    }
  }

  syncScroll() {
    this.overlay.scrollTop = this.input.scrollTop;
    this.overlay.scrollLeft = this.input.scrollLeft;
    this.gutter.scrollTop = this.input.scrollTop;
  }
}
