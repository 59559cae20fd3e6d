// auth.js -- OpenID Connect authorization code flow with PKCE (S256)
// against Keycloak, for the public client of config.json.
//
// Tokens live in this module's variables only (memory): never in
// localStorage or sessionStorage.  Only the PKCE verifier, state, nonce and
// the route to come back to are kept in sessionStorage, for the redirect
// round trip to Keycloak, and removed as soon as the code is exchanged.
const PENDING = 'pms-console.pkce';
let cfg = null;
let meta = null;
let tokens = null;          // { access, refresh, id, expiresAt }
let refreshTimer = null;
const listeners = new Set();

function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function randomString(n = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}
function decodeJwt(t) {
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(p))));
  } catch {
    return {};
  }
}
function redirectUri() {
  return `${location.origin}/`;
}

export async function init(config) {
  cfg = config;
  const r = await fetch(`${cfg.issuer}/.well-known/openid-configuration`);
  if (!r.ok) throw new Error(`identity provider answered ${r.status}`);
  meta = await r.json();
  const q = new URLSearchParams(location.search);
  if (q.has('code') || q.has('error')) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, '', `/${pending?.hash || '#/patients'}`);
    if (q.has('error')) throw new Error(`sign-in failed: ${q.get('error_description') || q.get('error')}`);
    if (!pending || pending.state !== q.get('state')) throw new Error('sign-in failed: the state does not match (start again)');
    await tokenRequest({
      grant_type: 'authorization_code',
      code: q.get('code'),
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    });
    if (decodeJwt(tokens.id).nonce !== pending.nonce) {
      tokens = null;
      throw new Error('sign-in failed: the nonce does not match');
    }
  }
}

export async function signIn() {
  const verifier = randomString(48);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const pending = { verifier, state: randomString(16), nonce: randomString(16), hash: location.hash || '#/patients' };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const u = new URL(meta.authorization_endpoint);
  u.search = new URLSearchParams({
    client_id: cfg.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: redirectUri(),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(u.toString());
}

async function tokenRequest(params) {
  const r = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: cfg.clientId, ...params }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`token request failed: ${body.error_description || body.error || r.status}`);
  tokens = {
    access: body.access_token,
    refresh: body.refresh_token,
    id: body.id_token || tokens?.id,
    expiresAt: Date.now() + body.expires_in * 1000,
  };
  scheduleRefresh(body.expires_in);
  listeners.forEach((f) => f());
}

// Refreshed 30 s before it expires (at least 5 s from now).
function scheduleRefresh(expiresIn) {
  clearTimeout(refreshTimer);
  const ms = Math.max(5, expiresIn - 30) * 1000;
  refreshTimer = setTimeout(() => refresh().catch(() => signedOut()), ms);
}

export async function refresh() {
  if (!tokens?.refresh) throw new Error('not signed in');
  await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh });
}

function signedOut() {
  clearTimeout(refreshTimer);
  tokens = null;
  listeners.forEach((f) => f());
}

// Ends the Keycloak session too: end_session_endpoint with id_token_hint.
export function signOut() {
  const id = tokens?.id;
  signedOut();
  const u = new URL(meta.end_session_endpoint);
  u.search = new URLSearchParams({
    client_id: cfg.clientId,
    id_token_hint: id || '',
    post_logout_redirect_uri: redirectUri(),
  }).toString();
  location.assign(u.toString());
}

export function accessToken() {
  return tokens?.access || null;
}
export function signedIn() {
  return !!tokens;
}
export function user() {
  const c = decodeJwt(tokens?.access || '');
  const roles = c.realm_access?.roles || [];
  return { name: c.preferred_username || c.sub || '', roles, canWrite: roles.includes('patient-writer') };
}
export function onChange(f) {
  listeners.add(f);
}
