// The page's one door to the server: JSON requests (changes carry the CSRF token) and the
// server-sent event feed every view listens to.

const csrf = document.querySelector('meta[name="raptor-csrf"]').content;

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export async function getJson(path) {
  return request('GET', path);
}

export async function send(method, path, body) {
  return request(method, path, body);
}

/**
 * A POST whose answer is a file (the storage-state download): `{ blob, fileName }` from its
 * Content-Disposition, or an ApiError like any other request.
 */
export async function download(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json', 'x-raptor-csrf': csrf }, body: JSON.stringify(body), credentials: 'same-origin' });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    const error = data && data.error ? data.error : { code: 'HTTP_' + response.status, message: response.statusText };
    throw new ApiError(error.code, error.message, response.status);
  }
  const disposition = response.headers.get('content-disposition') ?? '';
  const match = /filename="([^"]*)"/.exec(disposition);
  return { blob: await response.blob(), fileName: match ? match[1] : 'download.json' };
}

async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-raptor-csrf'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const type = response.headers.get('content-type') ?? '';
  const data = type.includes('application/json') ? await response.json() : await response.text();
  if (!response.ok) {
    const error = data && data.error ? data.error : { code: 'HTTP_' + response.status, message: String(data).slice(0, 200) };
    throw new ApiError(error.code, error.message, response.status);
  }
  return data;
}

const listeners = new Map();
let source;

/** `on('session', data => …)`: returns a function that stops listening. */
export function on(type, listener) {
  connect();
  if (!listeners.has(type)) {
    listeners.set(type, new Set());
    source.addEventListener(type, (event) => {
      const data = JSON.parse(event.data);
      for (const l of listeners.get(type) ?? []) l(data);
    });
  }
  listeners.get(type).add(listener);
  return () => listeners.get(type)?.delete(listener);
}

function connect() {
  if (source) return;
  source = new EventSource('/api/events');
  const feed = document.getElementById('feed');
  source.addEventListener('hello', () => {
    feed.textContent = 'live';
    feed.className = 'feed live';
  });
  source.addEventListener('error', () => {
    feed.textContent = 'reconnecting…';
    feed.className = 'feed lost';
  });
}
