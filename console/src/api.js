// api.js -- the pms JSON API, same origin (/api/...), with the in-memory
// access token.  Every answer is { status, ok, headers, body }; a network
// failure or a 502/503/504 becomes an ApiError whose message says what to do.
import { accessToken, refresh } from './auth.js';

export class ApiError extends Error {
  constructor(message, res) {
    super(message);
    this.res = res;
  }
}

export function problemMessage(res) {
  const b = res.body || {};
  if (res.status === 503 || res.status === 502 || res.status === 504) {
    const after = res.headers.get('Retry-After');
    return `The service is unavailable${b.detail ? ` (${b.detail})` : ''}.${after ? ` Try again in ${after} seconds.` : ' Try again shortly.'}`;
  }
  if (res.status === 403) return 'Your account is not allowed to do this (it lacks the patient-writer role).';
  if (res.status === 401) return 'Your session has expired: sign in again.';
  return b.detail || b.title || `The server answered ${res.status}.`;
}

export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const send = () => fetch(path, {
    method,
    signal,
    headers: {
      Accept: 'application/json',
      ...(accessToken() ? { Authorization: `Bearer ${accessToken()}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  let r;
  try {
    r = await send();
    if (r.status === 401) {
      await refresh().catch(() => {});
      r = await send();
    }
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('The API cannot be reached. Check your connection and try again.', null);
  }
  const text = await r.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  const res = { status: r.status, ok: r.ok, headers: r.headers, body: parsed };
  if ([502, 503, 504].includes(r.status)) throw new ApiError(problemMessage(res), res);
  return res;
}

// Link: <url>; rel="next", ... -> { next: url, prev: url, ... }
export function parseLinks(header) {
  const links = {};
  for (const part of (header || '').split(/,\s*(?=<)/)) {
    const m = part.match(/<([^>]*)>\s*;\s*rel="?([a-z]+)"?/);
    if (m) links[m[2]] = m[1];
  }
  return links;
}
