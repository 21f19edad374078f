// The REST client of the dashboard: same origin, paths under /v1/, a
// bearer token from localStorage on every request, and a token prompt when
// the server answers 401.

const TOKEN_KEY = 'swarm.token';

// ApiError carries the REST error envelope: {"error": {code, message, field}}.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

let promptForToken = async () => false;
let pendingPrompt = null;

// setTokenPrompt installs the function that asks the user for a token. It
// gets a reason text and resolves to true when a token was saved.
export function setTokenPrompt(fn) {
  promptForToken = fn;
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled; the token then lives for this request only.
  }
}

// askToken shares one prompt among the requests that got a 401 together.
function askToken() {
  if (!pendingPrompt) {
    const reason = getToken()
      ? 'The server refused the saved token. Enter a valid one.'
      : 'This server requires an API token.';
    pendingPrompt = promptForToken(reason).finally(() => {
      pendingPrompt = null;
    });
  }
  return pendingPrompt;
}

function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

// send performs one fetch and turns transport failures into ApiError.
async function send(path, init) {
  try {
    return await fetch(path, { cache: 'no-store', credentials: 'same-origin', ...init });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', `cannot reach the server (${err.message})`);
  }
}

// withAuth repeats a request after the user entered a token, while the
// server answers 401 and the user keeps entering one.
async function withAuth(makeInit, path) {
  for (;;) {
    const resp = await send(path, makeInit());
    if (resp.status !== 401) return resp;
    if (!(await askToken())) return resp;
  }
}

async function errorOf(resp) {
  const text = await resp.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && body.error) {
      return new ApiError(resp.status, body.error.code || 'unknown', body.error.message || resp.statusText, body.error.field);
    }
  } catch {
    // not the JSON envelope: a proxy or an old server answered
  }
  const snippet = text.trim().slice(0, 200) || resp.statusText || 'request failed';
  return new ApiError(resp.status, resp.status === 401 ? 'unauthenticated' : 'http', snippet);
}

// request sends method path with an optional JSON body and returns the
// decoded answer (null for an empty one). It throws ApiError.
export async function request(method, path, body, { signal } = {}) {
  const makeInit = () => {
    const init = { method, signal, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
    if (body !== undefined) init.body = JSON.stringify(body);
    return init;
  };
  const resp = await withAuth(makeInit, path);
  if (!resp.ok) throw await errorOf(resp);
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

// query builds "?a=1&b=2" from the non-empty values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function jobPath(group, name, suffix = '') {
  return `/v1/jobs/${encodeURIComponent(group)}/${encodeURIComponent(name)}${suffix}`;
}

// streamLogs reads an execution's log, calling onText with each decoded
// chunk until the server ends the stream or signal aborts it.
export async function streamLogs(id, { follow, signal, onText }) {
  const path = `/v1/executions/${encodeURIComponent(id)}/logs${follow ? '?follow=true' : ''}`;
  const resp = await withAuth(() => ({ method: 'GET', signal, headers: headers({ Accept: 'text/plain' }) }), path);
  if (!resp.ok) throw await errorOf(resp);
  if (!resp.body) {
    onText(await resp.text());
    return;
  }
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.decode(value, { stream: true }));
    }
    onText(decoder.decode());
  } finally {
    reader.releaseLock();
  }
}
