// The API client of the dashboard: fetch with the user's bearer token (asked for on a 401),
// errors as exceptions naming the API's code and message, and Server-Sent Events read with
// fetch() streaming (EventSource cannot send an Authorization header), resumed with Last-Event-ID.

const TOKEN_KEY = 'taskwire.token';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (t) => localStorage.setItem(TOKEN_KEY, t),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** Set by app.js: shows the sign-in box and resolves once a token was entered. */
let askForToken = async () => {
  throw new ApiError(401, 'unauthorized', 'sign in required');
};
export function onUnauthorized(fn) {
  askForToken = fn;
}

function headers(extra) {
  const out = { accept: 'application/json', ...extra };
  const t = token.get();
  if (t) out.authorization = `Bearer ${t}`;
  return out;
}

/** One API call; on 401 asks for a token and tries once more. */
export async function api(path, { method = 'GET', body, signal } = {}, retried = false) {
  const res = await fetch(path, {
    method,
    signal,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !retried) {
    await askForToken(await errorOf(res));
    return api(path, { method, body, signal }, true);
  }
  if (!res.ok) throw await errorOf(res);
  return res.status === 204 ? null : res.json();
}

async function errorOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  const e = body?.error;
  return new ApiError(
    res.status,
    e?.code ?? 'http_error',
    e?.message ?? `${res.status} ${res.statusText}`,
    e?.details,
  );
}

export const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

/**
 * Follows an SSE endpoint: onEvent({id, type, data}) per event, reconnecting after a drop with the
 * last id seen (the server replays what was missed). onState(true|false) tells whether it is live.
 * Returns stop().
 */
export function subscribe(path, { onEvent, onState = () => {}, onEnd = () => {} }) {
  const ctrl = new AbortController();
  let lastId = null;
  let stopped = false;
  let delay = 500;

  const run = async () => {
    while (!stopped) {
      try {
        const res = await fetch(path, {
          signal: ctrl.signal,
          headers: headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
        });
        if (res.status === 401) {
          await askForToken(await errorOf(res));
          continue;
        }
        if (!res.ok || !res.body) throw await errorOf(res);
        onState(true);
        delay = 500;
        const ended = await read(res.body, (e) => {
          if (e.id) lastId = e.id;
          onEvent(e);
        });
        if (ended && path.includes('/tasks/')) {
          // A task's stream ends after its terminal event: nothing more will come.
          onState(false);
          onEnd();
          return;
        }
      } catch (err) {
        if (stopped || err?.name === 'AbortError') return;
      }
      onState(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  run();
  return () => {
    stopped = true;
    ctrl.abort();
  };
}

/** Parses text/event-stream; resolves true when the server ended the stream. */
async function read(body, emit) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buf += value;
    let cut;
    while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
      const e = { id: null, type: 'message', data: '' };
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'id') e.id = val;
        else if (field === 'event') e.type = val;
        else if (field === 'data') data.push(val);
      }
      if (data.length === 0) continue;
      try {
        e.data = JSON.parse(data.join('\n'));
      } catch {
        e.data = data.join('\n');
      }
      emit(e);
    }
  }
}
