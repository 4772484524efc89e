// Talking to the server: JSON GETs (relative URLs, so a proxy prefix works) and the one
// event stream of the tab. Nothing is fetched from anywhere else.

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJSON(path, params = {}, signal) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const url = path + (q.toString() ? "?" + q : "");
  const r = await fetch(url, { signal, credentials: "same-origin", headers: { accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new HttpError(r.status, body.error || `${r.status} ${r.statusText}`);
  return { body, headers: r.headers };
}

export function csvURL(run, metric, split) {
  return "api/csv?" + new URLSearchParams({ run, metric, split });
}

// The tab's event stream: rows of the subscribed runs after their cursors, and changes of
// the runs list. Re-subscribing closes the old stream first: one stream per tab.
export class Stream {
  constructor(handlers) {
    this.handlers = handlers;
    this.source = null;
    this.key = "";
  }

  // runs: {id: chunk after which everything is new}; tails: [[run, series, chunk, n]].
  subscribe(runs, tails, known) {
    const params = {
      runs: Object.entries(runs).map(([id, after]) => `${id}:${after}`).join(","),
      tails: tails.map((t) => t.join("~")).join(","),
      known,
    };
    const key = JSON.stringify(params);
    if (this.source && key === this.key) return;
    this.close();
    this.key = key;
    const s = new EventSource("api/stream?" + new URLSearchParams(params));
    s.addEventListener("rows", (e) => this.handlers.rows(JSON.parse(e.data)));
    s.addEventListener("runs", (e) => this.handlers.runs(JSON.parse(e.data)));
    s.onopen = () => this.handlers.status(true);
    s.onerror = () => this.handlers.status(false);
    this.source = s;
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
  }
}
