// Entry point: pages (#/studio, #/qanda), the sign-in bar, and wiring.

import { AssistantPanel } from "./assistant.js";
import {
  claims,
  devSignIn,
  devSignInStatus,
  onTokenChange,
  orgToken,
  setOrgToken,
  tokenAccepted,
} from "./auth.js";
import { $ } from "./dom.js";
import { QandaPage } from "./qanda.js";
import { Studio } from "./studio.js";

const PAGES = { studio: "page-studio", qanda: "page-qanda" };

function currentPage() {
  const name = location.hash.replace(/^#\/?/, "");
  return PAGES[name] ? name : "studio";
}

function showPage(app) {
  const page = currentPage();
  for (const [name, id] of Object.entries(PAGES)) {
    $(id).hidden = name !== page;
    const link = $(`nav-${name}`);
    if (name === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page === "qanda" ? "Course Q&A" : "Prompt studio"} · promptsmith`;
  if (page === "qanda") app.qanda.refresh();
}

function showTokenState() {
  const token = orgToken();
  const state = $("token-state");
  $("org-token").value = token;
  if (!token) {
    state.textContent = "Not signed in";
    state.className = "token-state signed-out";
    return;
  }
  const c = claims(token);
  if (!c) {
    state.textContent = "Token set (unreadable claims)";
    state.className = "token-state";
    return;
  }
  const expired = c.exp && c.exp * 1000 < Date.now();
  const who = [c.sub, c.org && `org ${c.org}`, c.role].filter(Boolean).join(" · ");
  state.textContent = expired ? `Token expired (${who})` : `Signed in: ${who}`;
  state.className = expired ? "token-state signed-out" : "token-state signed-in";
}

async function setUpSignIn(app) {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setOrgToken($("org-token").value);
    $("token-details").open = false;
  });
  $("sign-out").addEventListener("click", () => setOrgToken(""));
  const button = $("dev-sign-in");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const institution = $("qa-institution").value.trim() || undefined;
      await devSignIn(institution);
      if (currentPage() === "qanda") app.qanda.showTokenState();
    } catch (err) {
      $("token-state").textContent = `Dev sign-in failed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  onTokenChange(() => {
    showTokenState();
    app.studio.lint();
    if (currentPage() === "qanda") app.qanda.refresh();
  });
  showTokenState();
  const status = await devSignInStatus();
  button.hidden = !status.devSignIn;
  if (status.devSignIn && !$("qa-institution").value) $("qa-institution").value = status.demoInstitution;
  await replaceRejectedToken(status);
}

// A saved token this server refuses (another server's, or its dev secret changed): a dev
// token is re-minted on a dev server; any other is flagged so the user pastes a new one.
async function replaceRejectedToken(status) {
  const token = orgToken();
  if (!token || (await tokenAccepted())) return;
  const c = claims(token);
  if (status.devSignIn && c && c.org === "dev-org") {
    try {
      await devSignIn();
      return;
    } catch {
      /* fall through to the flag */
    }
  }
  $("token-state").textContent = "This server does not accept the saved token: paste a new one";
  $("token-state").className = "token-state signed-out";
}

function start() {
  const studio = new Studio();
  const app = { studio, assistant: new AssistantPanel(studio), qanda: new QandaPage() };
  window.addEventListener("hashchange", () => showPage(app));
  setUpSignIn(app).finally(() => {
    showPage(app);
    document.body.dataset.ready = "true";
  });
}

start();
