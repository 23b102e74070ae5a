// Line and word diffs (LCS), rendered as inline <ins>/<del> markup.

import { h } from "./dom.js";

// Longest-common-subsequence table over two token arrays, then a walk producing ops.
export function diffTokens(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) {
    return [...a.map((t) => ({ op: "del", text: t })), ...b.map((t) => ({ op: "add", text: t }))];
  }
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ op: "same", text: a[i] });
      i++;
      j++;
    } else if (table[i + 1][j] >= table[i][j + 1]) {
      ops.push({ op: "del", text: a[i++] });
    } else {
      ops.push({ op: "add", text: b[j++] });
    }
  }
  while (i < n) ops.push({ op: "del", text: a[i++] });
  while (j < m) ops.push({ op: "add", text: b[j++] });
  return ops;
}

const words = (text) => text.match(/\s+|[^\s]+/g) || [];

// Word-level inline diff (for a rewritten selection).
export function inlineDiff(before, after) {
  const container = h("div", { class: "diff-inline" });
  for (const { op, text } of diffTokens(words(before), words(after))) {
    if (op === "same") container.append(text);
    else if (op === "add") container.append(h("ins", {}, text));
    else container.append(h("del", {}, text));
  }
  return container;
}

// Line-level diff (for a whole draft), unchanged runs folded to a few lines of context.
export function lineDiff(before, after, context = 2) {
  const ops = diffTokens(before.split("\n"), after.split("\n"));
  const table = h("div", { class: "diff-lines", role: "table", "aria-label": "Changes" });
  const changed = ops.map((o) => o.op !== "same");
  const near = (index) => {
    for (let k = Math.max(0, index - context); k <= Math.min(ops.length - 1, index + context); k++) {
      if (changed[k]) return true;
    }
    return false;
  };
  let folded = 0;
  const flush = () => {
    if (folded) table.append(h("div", { class: "diff-fold", role: "row" }, `… ${folded} unchanged lines`));
    folded = 0;
  };
  ops.forEach(({ op, text }, index) => {
    if (op === "same" && !near(index)) {
      folded++;
      return;
    }
    flush();
    const sign = op === "add" ? "+" : op === "del" ? "−" : " ";
    table.append(
      h("div", { class: `diff-line diff-${op}`, role: "row" },
        h("span", { class: "diff-sign", "aria-hidden": "true" }, sign),
        h("span", { class: "visually-hidden" }, op === "add" ? "added: " : op === "del" ? "removed: " : ""),
        h("span", { class: "diff-text" }, text || " ")),
    );
  });
  flush();
  return { element: table, added: ops.filter((o) => o.op === "add").length, removed: ops.filter((o) => o.op === "del").length };
}
