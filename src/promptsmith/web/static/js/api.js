// HTTP helpers: JSON calls with the envelope, NDJSON and SSE streams read from fetch().

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || `HTTP ${status}`;
    super(body && body.message ? `${error}: ${body.message}` : error);
    this.status = status;
    this.body = body || {};
  }

  get setupRequired() {
    return this.status === 503 && this.body.error === "ai_setup_required";
  }
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { error: `HTTP ${response.status}`, message: text.slice(0, 300) };
  }
}

export async function call(path, { method = "GET", body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function openStream(path, body, headers, accept, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: accept, ...headers },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await readBody(response));
  return response.body.pipeThrough(new TextDecoderStream()).getReader();
}

// One JSON object per line.
export async function* ndjson(path, body, { headers = {}, signal } = {}) {
  const reader = await openStream(path, body, headers, "application/x-ndjson", signal);
  yield* ndjsonEvents(reader);
}

async function* ndjsonEvents(reader) {
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (buffer.trim()) yield JSON.parse(buffer);
}

// Server-Sent Events over a POST (EventSource can only GET): `data:` lines, blank line ends
// an event. Resolves once the response headers are in (so an HTTP error throws here), to
// an async iterator of the events.
export async function sse(path, body, { headers = {}, signal } = {}) {
  const reader = await openStream(path, body, headers, "text/event-stream", signal);
  return sseEvents(reader);
}

async function* sseEvents(reader) {
  let buffer = "";
  let data = [];
  const lines = function* () {
    let match;
    while ((match = /\r\n|\r|\n/.exec(buffer))) {
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (match[0] === "\r" && match.index === buffer.length - 1) return;
      yield buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (const line of lines()) {
      if (line === "") {
        if (data.length) yield JSON.parse(data.join("\n"));
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value2 = colon < 0 ? "" : line.slice(colon + 1);
      if (value2.startsWith(" ")) value2 = value2.slice(1);
      if (field === "data") data.push(value2);
    }
  }
  if (data.length) yield JSON.parse(data.join("\n"));
}
