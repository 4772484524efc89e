// The view's state (page, selected runs, smoothing, axes, zoom, filters) lives in the URL's
// hash, so a copied link reproduces the view. Values are strings; readers parse them.

const DEFAULTS = { page: "scalars", runs: "", x: "step", log: "0", smooth: "0", filter: "", metrics: "", lo: "", hi: "", run: "", layer: "", split: "", step: "", stat: "grad/norm" };

export class State {
  constructor(onChange) {
    this.onChange = onChange;
    this.values = { ...DEFAULTS, ...parse(location.hash) };
    window.addEventListener("hashchange", () => {
      const next = { ...DEFAULTS, ...parse(location.hash) };
      const changed = Object.keys(next).filter((k) => next[k] !== this.values[k]);
      if (!changed.length) return;
      this.values = next;
      this.onChange(changed);
    });
  }

  get(key) {
    return this.values[key];
  }

  // Set some keys; push a history entry for page changes, replace otherwise.
  set(updates, { push = false, notify = true } = {}) {
    const changed = Object.keys(updates).filter((k) => String(updates[k] ?? "") !== this.values[k]);
    if (!changed.length) return;
    for (const k of changed) this.values[k] = String(updates[k] ?? "");
    const hash = "#" + serialise(this.values);
    if (push) history.pushState(null, "", hash);
    else history.replaceState(null, "", hash);
    if (notify) this.onChange(changed);
  }
}

function parse(hash) {
  const out = {};
  for (const [k, v] of new URLSearchParams(hash.replace(/^#/, ""))) if (k in DEFAULTS) out[k] = v;
  return out;
}

function serialise(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== DEFAULTS[k]) q.set(k, v);
  return q.toString();
}
