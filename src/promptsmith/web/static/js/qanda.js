// Course Q&A: pick institution / assistant / course, then chat over qanda-stream (SSE).
// tool_call -> "Searching course materials…", tool_result -> sources, stream -> answer text,
// complete -> citations; [n] in the answer opens the cited snippet.

import { call, sse } from "./api.js";
import { bearer, devSignIn, devSignInStatus, institutionToken, setInstitutionToken } from "./auth.js";
import { errorCard, failureCard, setupCard } from "./cards.js";
import { $, clear, h, scrollToEnd } from "./dom.js";

const STREAM_PATH = "/api/ai/personal-stream/qanda-stream";

// The admin API's list endpoints may answer a bare array or wrap it; accept both.
function listOf(reply, ...keys) {
  if (Array.isArray(reply)) return reply;
  for (const key of [...keys, "items", "data", "results"]) {
    if (reply && Array.isArray(reply[key])) return reply[key];
  }
  return [];
}

const pick = (obj, ...names) => names.map((n) => obj[n]).find((v) => v !== undefined && v !== null);

function fillDatalist(id, entries) {
  const list = clear($(id));
  for (const { value, label } of entries) list.append(h("option", { value, label }, label));
}

export class QandaPage {
  constructor() {
    this.log = $("qa-log");
    this.inputs = [];
    this.controller = null;
    this.fillTimezones();
    this.restoreSelection();
    const save = () => this.saveSelection();
    ["qa-institution", "qa-assistant", "qa-course", "qa-timezone", "qa-rag-only"].forEach((id) =>
      $(id).addEventListener("change", save));
    $("qa-institution").addEventListener("change", () => this.institutionChanged());
    $("qa-token").addEventListener("change", () => {
      const institution = $("qa-institution").value.trim();
      if (institution) setInstitutionToken(institution, $("qa-token").value);
      this.showTokenState();
    });
    $("qa-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask();
    });
    $("qa-input").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.ask();
      }
    });
    $("qa-stop").addEventListener("click", () => this.controller && this.controller.abort());
    $("qa-clear").addEventListener("click", () => {
      if (this.controller) this.controller.abort();
      this.inputs = [];
      clear(this.log);
    });
  }

  fillTimezones() {
    const select = $("qa-timezone");
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    let zones = [];
    try {
      zones = Intl.supportedValuesOf("timeZone");
    } catch {
      zones = [];
    }
    if (!zones.includes("UTC")) zones = ["UTC", ...zones];
    if (!zones.includes(local)) zones = [local, ...zones];
    for (const zone of zones) select.append(h("option", { value: zone }, zone));
    select.value = local;
  }

  saveSelection() {
    const selection = {
      institution: $("qa-institution").value.trim(),
      assistant: $("qa-assistant").value.trim(),
      course: $("qa-course").value.trim(),
      ragOnly: $("qa-rag-only").checked,
    };
    localStorage.setItem("promptsmith.qanda", JSON.stringify(selection));
  }

  restoreSelection() {
    try {
      const saved = JSON.parse(localStorage.getItem("promptsmith.qanda") || "{}");
      if (saved.institution) $("qa-institution").value = saved.institution;
      if (saved.assistant) $("qa-assistant").value = saved.assistant;
      if (saved.course) $("qa-course").value = saved.course;
      if (saved.ragOnly !== undefined) $("qa-rag-only").checked = saved.ragOnly;
    } catch {
      /* a corrupt saved selection is just ignored */
    }
  }

  // Called when the page is shown or the org token changes.
  async refresh() {
    const status = $("qa-setup-status");
    try {
      const reply = await call("/api/admin/institutions", { headers: bearer() });
      const institutions = listOf(reply, "institutions");
      fillDatalist("qa-institutions", institutions.map((i) => {
        const id = String(pick(i, "public_id", "publicId", "id"));
        return { value: id, label: `${i.name || id}` };
      }));
      if (!$("qa-institution").value && institutions.length) {
        $("qa-institution").value = String(pick(institutions[0], "public_id", "publicId", "id"));
      }
      status.textContent = institutions.length
        ? `${institutions.length} institution(s) in your organisation.`
        : "No institutions yet: create one with `promptsmith institution create`.";
    } catch (err) {
      status.textContent = err.status === 401 || err.status === 403
        ? "Sign in with an admin org token to list institutions, or type the ids."
        : "Type the institution, assistant and course ids (the admin API is not available).";
    }
    await this.institutionChanged();
  }

  async institutionChanged() {
    const institution = $("qa-institution").value.trim();
    this.saveSelection();
    if (!institution) return;
    await this.ensureInstitutionToken(institution);
    await Promise.all([this.loadAssistants(institution), this.loadCourses(institution)]);
  }

  async ensureInstitutionToken(institution) {
    if (!institutionToken(institution)) {
      const dev = await devSignInStatus();
      if (dev.devSignIn) {
        try {
          await devSignIn(institution, { institutionOnly: true });
        } catch {
          /* the token field stays empty; the user can paste one */
        }
      }
    }
    this.showTokenState();
  }

  async remintInstitutionToken(institution) {
    if (!institution || !(await devSignInStatus()).devSignIn) return "";
    try {
      await devSignIn(institution, { institutionOnly: true });
    } catch {
      return "";
    }
    this.showTokenState();
    return institutionToken(institution);
  }

  showTokenState() {
    const institution = $("qa-institution").value.trim();
    $("qa-token").value = institution ? institutionToken(institution) : "";
  }

  async loadAssistants(institution) {
    try {
      const reply = await call(`/api/admin/institutions/${encodeURIComponent(institution)}/assistants`, { headers: bearer() });
      const assistants = listOf(reply, "assistants");
      fillDatalist("qa-assistants", assistants.map((a) => ({ value: String(pick(a, "id", "assistant_id", "assistantId")), label: a.name || a.id })));
      const ids = assistants.map((a) => String(pick(a, "id", "assistant_id", "assistantId")));
      if (ids.length && !ids.includes($("qa-assistant").value.trim())) $("qa-assistant").value = ids[0];
    } catch {
      fillDatalist("qa-assistants", []);
    }
  }

  async loadCourses(institution) {
    try {
      const reply = await call(`/api/admin/institutions/${encodeURIComponent(institution)}/courses`, { headers: bearer() });
      const courses = listOf(reply, "courses");
      this.courses = new Map(courses.map((c) => [String(pick(c, "course_id", "courseId", "id")), pick(c, "course_name", "courseName", "name")]));
      fillDatalist("qa-courses", [...this.courses].map(([value, name]) => ({ value, label: `${name || value}` })));
      if (this.courses.size && !this.courses.has($("qa-course").value.trim())) {
        $("qa-course").value = this.courses.keys().next().value;
      }
    } catch {
      this.courses = new Map();
      fillDatalist("qa-courses", []);
    }
    this.saveSelection();
  }

  requestArgs() {
    const courseId = Number.parseInt($("qa-course").value.trim(), 10);
    const args = {
      institutionPublicId: $("qa-institution").value.trim(),
      assistantId: $("qa-assistant").value.trim(),
      ragOnly: $("qa-rag-only").checked,
      userTimezone: $("qa-timezone").value,
    };
    if (Number.isFinite(courseId)) {
      args.selectedCourse = { course_id: courseId };
      const name = this.courses && this.courses.get(String(courseId));
      if (name) args.selectedCourse.course_name = name;
    }
    return args;
  }

  async ask() {
    const question = $("qa-input").value.trim();
    if (!question || this.controller) return;
    const args = this.requestArgs();
    const token = $("qa-token").value.trim() || institutionToken(args.institutionPublicId);
    $("qa-input").value = "";
    this.log.append(h("div", { class: "msg msg-user" }, h("div", { class: "bubble" }, question)));
    const answer = new Answer();
    this.log.append(answer.element);
    scrollToEnd(this.log);
    this.controller = new AbortController();
    $("qa-send").disabled = true;
    $("qa-stop").hidden = false;
    const inputs = [...this.inputs, question];
    const stream = (accessToken) => sse(STREAM_PATH, { inputs, requestArgs: args }, {
      headers: accessToken ? { "x-access-token": accessToken } : {},
      signal: this.controller.signal,
    });
    try {
      let events;
      try {
        events = await stream(token);
      } catch (err) {
        // A token from another server (say a dev secret that changed): on a dev server,
        // mint a fresh one for this institution and try once more.
        const fresh = err.status === 401 && (await this.remintInstitutionToken(args.institutionPublicId));
        if (!fresh) throw err;
        events = await stream(fresh);
      }
      for await (const event of events) {
        answer.handle(event);
        scrollToEnd(this.log);
      }
    } catch (err) {
      if (err.name === "AbortError") answer.note("Stopped.");
      else answer.fail(err);
    } finally {
      answer.finish();
      this.controller = null;
      $("qa-send").disabled = false;
      $("qa-stop").hidden = true;
    }
    this.inputs = inputs;
  }
}

class Answer {
  constructor() {
    this.sources = new Map(); // n -> result
    this.text = "";
    this.activity = h("div", { class: "qa-activity" });
    this.body = h("div", { class: "reply-text" });
    this.sourceList = h("ol", { class: "sources", "aria-label": "Sources" });
    this.sourcesBox = h("section", { class: "sources-box", hidden: true },
      h("h4", {}, "Sources"), this.sourceList);
    this.meta = h("p", { class: "muted small qa-meta" });
    this.extras = h("div", {});
    this.element = h("div", { class: "msg msg-assistant", "aria-busy": "true" },
      this.activity, h("div", { class: "bubble" }, this.body), this.sourcesBox, this.extras, this.meta);
  }

  handle(event) {
    switch (event.type) {
      case "tool_call": {
        // The server's label (say "Searching Introduction to Astronomy") is the detail.
        const label = event.displayInfo && event.displayInfo.label;
        const query = event.arguments && event.arguments.query;
        this.activity.append(h("p", { class: "tool-call", role: "status", "data-call": event.call_id },
          h("span", { class: "spinner", "aria-hidden": "true" }), "Searching course materials…",
          label && label !== "Searching course materials…" ? h("span", { class: "muted small tool-label" }, ` ${label}`) : null,
          query ? h("span", { class: "muted small" }, ` “${query}”`) : null));
        break;
      }
      case "tool_result":
        this.toolResult(event);
        break;
      case "stream":
        this.text = typeof event.prompt === "string" ? event.prompt : this.text + (event.delta || "");
        this.renderText();
        break;
      case "complete":
        this.complete(event);
        break;
      case "ai-setup-required":
        this.extras.append(setupCard(event));
        break;
      case "error":
        this.extras.append(event.code === "ai_setup_required" ? setupCard(event) : errorCard(event.error || "Error", event.message));
        break;
      default:
        break;
    }
  }

  toolResult(event) {
    const results = event.results || [];
    const line = [...this.activity.querySelectorAll(".tool-call")].find((el) => el.dataset.call === event.call_id);
    if (line) {
      line.classList.add("finished");
      line.querySelector(".spinner")?.remove();
      line.append(h("span", { class: "muted small" }, ` · ${results.length} source${results.length === 1 ? "" : "s"} found`));
    }
    for (const result of results) this.sources.set(String(result.n), result);
    this.renderSources();
    this.renderText();
  }

  renderSources(cited) {
    clear(this.sourceList);
    for (const [n, result] of this.sources) {
      const isCited = cited && cited.has(n);
      this.sourceList.append(h("li", { value: n, class: isCited ? "cited" : null },
        h("button", { type: "button", class: "link source-link", onclick: () => openSource(result) },
          `[${n}] ${result.title || result.document || "Source"}`),
        result.page ? h("span", { class: "muted small" }, ` · p. ${result.page}`) : null,
        isCited ? h("span", { class: "cited-badge small" }, " cited") : null));
    }
    this.sourcesBox.hidden = this.sourceList.children.length === 0;
  }

  // The answer text, with [n] markers that match a source turned into buttons.
  renderText() {
    clear(this.body);
    let last = 0;
    for (const match of this.text.matchAll(/\[(\d+)\]/g)) {
      const source = this.sources.get(match[1]);
      if (!source) continue;
      this.body.append(this.text.slice(last, match.index));
      this.body.append(h("button", { type: "button", class: "citation", "aria-label": `Source ${match[1]}: ${source.title || source.document || ""}`, onclick: () => openSource(source) }, `[${match[1]}]`));
      last = match.index + match[0].length;
    }
    this.body.append(this.text.slice(last));
  }

  complete(event) {
    if (Array.isArray(event.outputs) && event.outputs.length && !this.text) {
      this.text = String(event.outputs[event.outputs.length - 1]);
    }
    if (Array.isArray(event.citations)) {
      for (const citation of event.citations) {
        if (citation && typeof citation === "object" && citation.n !== undefined && !this.sources.has(String(citation.n))) {
          this.sources.set(String(citation.n), citation);
        }
      }
      const cited = new Set(event.citations.map((c) => String(typeof c === "object" && c ? c.n : c)));
      if (cited.size) this.renderSources(cited);
    }
    this.renderText();
    const parts = [];
    if (event.model) parts.push(event.model);
    if (event.usage !== undefined) parts.push(`${event.usage} tokens`);
    if (event.cached) parts.push(`${event.cached} cached`);
    this.meta.textContent = parts.join(" · ");
  }

  note(text) {
    this.extras.append(h("p", { class: "muted small" }, text));
  }

  fail(err) {
    this.extras.append(failureCard(err));
  }

  finish() {
    this.element.setAttribute("aria-busy", "false");
    this.activity.querySelectorAll(".spinner").forEach((el) => el.remove());
  }
}

function openSource(source) {
  $("source-title").textContent = source.title || source.document || "Source";
  const meta = [];
  if (source.document && source.document !== source.title) meta.push(source.document);
  if (source.page) meta.push(`page ${source.page}`);
  if (typeof source.score === "number") meta.push(`score ${source.score.toFixed(3)}`);
  $("source-meta").textContent = meta.join(" · ");
  $("source-snippet").textContent = source.snippet || "(no snippet)";
  const dialog = $("source-dialog");
  if (!dialog.open) dialog.showModal();
}
