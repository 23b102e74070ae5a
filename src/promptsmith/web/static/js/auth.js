// Tokens: the org token (Bearer) for the studio and admin API, institution tokens for Q&A.

import { call } from "./api.js";

const ORG_KEY = "promptsmith.orgToken";
const INSTITUTION_KEY = "promptsmith.institutionTokens";
const listeners = new Set();

export function orgToken() {
  return localStorage.getItem(ORG_KEY) || "";
}

export function setOrgToken(token) {
  if (token) localStorage.setItem(ORG_KEY, token.trim());
  else localStorage.removeItem(ORG_KEY);
  listeners.forEach((fn) => fn());
}

export function onTokenChange(fn) {
  listeners.add(fn);
}

export function bearer() {
  const token = orgToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function institutionTokens() {
  try {
    return JSON.parse(localStorage.getItem(INSTITUTION_KEY) || "{}");
  } catch {
    return {};
  }
}

export function institutionToken(institution) {
  return institutionTokens()[institution] || "";
}

export function setInstitutionToken(institution, token) {
  const all = institutionTokens();
  if (token) all[institution] = token.trim();
  else delete all[institution];
  localStorage.setItem(INSTITUTION_KEY, JSON.stringify(all));
}

// The claims of a JWT, unverified: only to show who is signed in and until when.
export function claims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
  } catch {
    return null;
  }
}

let devStatus = null;

export async function devSignInStatus() {
  if (devStatus === null) {
    try {
      devStatus = await call("/api/dev/status");
    } catch {
      devStatus = { devSignIn: false };
    }
  }
  return devStatus;
}

// Dev sign-in: the server mints tokens (loopback + generated dev secret only).
// `institutionOnly` keeps whatever org token is in use (say one pasted by hand).
export async function devSignIn(institution, { institutionOnly = false } = {}) {
  const body = institution ? { institution } : {};
  const minted = await call("/api/dev/token", { method: "POST", body });
  setInstitutionToken(minted.institution, minted.institutionToken);
  if (!institutionOnly) setOrgToken(minted.orgToken);
  return minted;
}

// Whether this server accepts the org token (only a 401 says no; a 403 is a valid
// token without the admin role).
export async function tokenAccepted() {
  try {
    await call("/api/admin/org/model", { headers: bearer() });
    return true;
  } catch (err) {
    return err.status !== 401;
  }
}
