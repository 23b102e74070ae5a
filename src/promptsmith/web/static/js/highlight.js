// XML syntax colouring: text -> DOM fragment of spans (no innerHTML, so any text is safe).

const TOKEN = new RegExp(
  [
    "(<!--[\\s\\S]*?(?:-->|$))", // 1 comment (unterminated runs to the end)
    "(<!\\[CDATA\\[[\\s\\S]*?(?:\\]\\]>|$))", // 2 CDATA
    "(<\\?[\\s\\S]*?(?:\\?>|$))", // 3 processing instruction
    "(</?[A-Za-z_][\\w.:-]*)", // 4 tag open
    "(/?>)", // 5 tag close
    "(&[#\\w]+;)", // 6 entity
    "(@[A-Za-z_][\\w]*(?:\\.[A-Za-z_][\\w]*)*)", // 7 @variable
    "(\\{\\{[^}]*\\}\\})", // 8 {{placeholder}}
  ].join("|"),
  "g",
);
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)(\s*=\s*)("[^"]*"?|'[^']*'?)?/g;

function span(cls, text) {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  return el;
}

// Attributes between a tag name and its `>`: names, `=`, quoted values.
function appendAttributes(fragment, text) {
  let last = 0;
  for (const match of text.matchAll(ATTRIBUTE)) {
    if (match.index > last) fragment.append(text.slice(last, match.index));
    fragment.append(span("x-attr", match[1]), match[2]);
    if (match[3]) fragment.append(span("x-value", match[3]));
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(text.slice(last));
}

export function highlightXml(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  let inTag = false;
  for (const match of text.matchAll(TOKEN)) {
    const between = text.slice(last, match.index);
    if (between) {
      if (inTag) appendAttributes(fragment, between);
      else fragment.append(between);
    }
    const [token, comment, cdata, pi, tagOpen, tagClose, entity, variable, placeholder] = match;
    if (comment) fragment.append(span("x-comment", token));
    else if (cdata) fragment.append(span("x-cdata", token));
    else if (pi) fragment.append(span("x-pi", token));
    else if (tagOpen) {
      fragment.append(span("x-tag", token));
      inTag = true;
    } else if (tagClose) {
      fragment.append(inTag ? span("x-tag", token) : token);
      inTag = false;
    } else if (entity) fragment.append(span("x-entity", token));
    else if (variable) fragment.append(span(inTag ? "x-value" : "x-var", token));
    else if (placeholder) fragment.append(span("x-var", token));
    last = match.index + token.length;
  }
  const rest = text.slice(last);
  if (inTag) appendAttributes(fragment, rest);
  else fragment.append(rest);
  // A trailing newline needs content after it, or the overlay is a line short.
  fragment.append("\n");
  return fragment;
}
