// The runs: the side list on every page (one row per run: the contract's data-testid
// "run-row", data-run and data-last-step, kept live) and the Runs page's table (status,
// steps, times, tags, best and last metric values, the config keys that differ).
import { el, clear } from "./dom.js";
import { fmtAge, fmtDuration, fmtInt, fmtValue } from "./numbers.js";

const STATUS_TEXT = { live: "live", finished: "finished", crashed: "crashed", unreadable: "unreadable" };
export const AUTO_RUNS = 10; // runs drawn when none are chosen: the most recently started

export function filterRegex(text) {
  try {
    return text ? new RegExp(text, "i") : null;
  } catch {
    return undefined; // invalid: the input is marked, nothing is filtered
  }
}

export class RunList {
  constructor(app) {
    this.app = app;
    this.rows = new Map();
    this.filter = el("input", { type: "search", class: "ts-filter", placeholder: "Filter runs (regex)", "aria-label": "Filter runs by regular expression",
      value: app.state.get("filter"), oninput: () => app.state.set({ filter: this.filter.value }) });
    this.info = el("div", { class: "ts-list-info" });
    this.list = el("div", { class: "ts-runlist", role: "list" });
    const btn = (text, title, f) => el("button", { type: "button", title, onclick: f }, text);
    this.el = el("aside", { class: "ts-side" },
      this.filter,
      el("div", { class: "ts-list-buttons" },
        btn("All shown", "Select every run the filter shows (at most 64)", () => app.selectRuns(this.visibleIds().slice(0, 64))),
        btn("None", "Clear the selection", () => app.selectRuns([])),
        btn("Latest", `Follow the ${AUTO_RUNS} most recently started runs (new runs join)`, () => app.selectRuns(null))),
      this.info, this.list);
  }

  visibleIds() {
    const re = filterRegex(this.app.state.get("filter"));
    return this.app.runs.filter((r) => !re || re.test(r.name)).map((r) => r.id);
  }

  render() {
    const re = filterRegex(this.app.state.get("filter"));
    this.filter.classList.toggle("ts-bad", re === undefined);
    const seen = new Set();
    const runs = [...this.app.runs].sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
    const order = document.createDocumentFragment(); // one insertion, not one per row
    let shown = 0;
    for (const r of runs) {
      seen.add(r.id);
      let row = this.rows.get(r.id);
      if (!row) {
        row = this.makeRow(r);
        this.rows.set(r.id, row);
      }
      this.updateRow(row, r);
      row.el.hidden = !!re && !re.test(r.name);
      if (!row.el.hidden) shown++;
      order.append(row.el); // newest first
    }
    this.list.append(order);
    for (const [id, row] of this.rows) if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    const selected = this.app.selected.length;
    this.info.textContent = `${fmtInt(shown)} of ${fmtInt(runs.length)} runs · ${selected} selected${this.app.autoSelect ? " (latest)" : ""}`;
  }

  makeRow(r) {
    const box = el("input", { type: "checkbox", "aria-label": `select run ${r.name}`, onchange: () => this.app.toggleRun(r.id, box.checked) });
    const sw = el("i", { class: "ts-sw" });
    const name = el("span", { class: "ts-run-name" });
    const status = el("span", { class: "ts-status" });
    const step = el("span", { class: "ts-run-step" });
    const e = el("div", { class: "ts-run", role: "listitem", dataset: { testid: "run-row", run: r.name } },
      el("label", {}, box, sw, name), status, step);
    return { el: e, box, sw, name, status, step };
  }

  updateRow(row, r) {
    row.el.dataset.run = r.name;
    row.el.dataset.id = r.id;
    row.el.dataset.status = r.status;
    const step = this.app.lastStep(r);
    row.el.dataset.lastStep = step === null || step === undefined ? "" : String(step);
    row.name.textContent = r.name;
    row.name.title = `${r.name}\n${r.folder}`;
    row.status.textContent = STATUS_TEXT[r.status] || r.status;
    row.status.className = `ts-status ts-${r.status}`;
    row.step.textContent = step === null || step === undefined ? "" : `step ${fmtInt(step)}`;
    row.box.checked = this.app.selected.includes(r.id);
    row.sw.style.background = this.app.color(r.id);
  }

  // A live step for one run (from stream rows): only its row is touched.
  setStep(id) {
    const row = this.rows.get(id);
    const r = this.app.runById.get(id);
    if (row && r) this.updateRow(row, r);
  }
}

// The Runs page: a table of every run the filter shows, sortable by any column.
export class RunsPage {
  constructor(app) {
    this.app = app;
    this.sort = { key: "start", desc: true };
    this.el = el("div", { class: "ts-page ts-runs-page" });
  }

  render() {
    const app = this.app;
    clear(this.el);
    const re = filterRegex(app.state.get("filter"));
    const runs = app.runs.filter((r) => !re || re.test(r.name));
    const metrics = commonMetrics(runs, 6);
    const config = differingConfig(runs, 8);
    const cols = [
      ["", null], ["run", (r) => r.name], ["status", (r) => r.status], ["steps", (r) => r.max_step ?? -1],
      ["last update", (r) => -(r.age ?? 1e18)], ["duration", (r) => r.duration ?? -1], ["start", (r) => r.start_time ?? 0],
      ...metrics.map((m) => [`${m.split}/${m.name}`, (r) => metricOf(r, m)?.last ?? -Infinity]),
      ...config.map((k) => [k, (r) => String(r.config[k] ?? "")]),
    ];
    const sortCol = cols.find((c) => c[0] === this.sort.key && c[1]) || cols[6];
    runs.sort((a, b) => cmp(sortCol[1](a), sortCol[1](b)) * (this.sort.desc ? -1 : 1));
    const head = el("tr", {}, ...cols.map(([label, key]) => el("th", {
      class: key ? "ts-sortable" : "", title: key ? "Sort by this column" : "",
      onclick: key ? () => { this.sort = { key: label, desc: this.sort.key === label ? !this.sort.desc : true }; this.render(); } : null,
    }, label + (this.sort.key === label ? (this.sort.desc ? " ▾" : " ▴") : ""))));
    const body = el("tbody");
    for (const r of runs.slice(0, 2000)) body.append(this.row(r, metrics, config));
    this.el.append(
      el("p", { class: "ts-hint" }, `${fmtInt(runs.length)} runs. Tick runs to compare them on the other pages; best values are the minimum of losses and errors and the maximum of accuracies and scores.`),
      el("div", { class: "ts-table-wrap" }, el("table", { class: "ts-table", dataset: { testid: "runs-table" } }, el("thead", {}, head), body)));
  }

  row(r, metrics, config) {
    const app = this.app;
    const box = el("input", { type: "checkbox", checked: app.selected.includes(r.id), "aria-label": `select run ${r.name}`, onchange: () => app.toggleRun(r.id, box.checked) });
    const sw = el("i", { class: "ts-sw" });
    sw.style.background = app.color(r.id);
    const tags = r.tags.length ? el("span", { class: "ts-tags" }, ...r.tags.map((t) => el("span", { class: "ts-tag", text: t }))) : null;
    return el("tr", { dataset: { testid: "run-table-row", run: r.name } },
      el("td", {}, box),
      el("td", { class: "ts-name-cell", title: r.note || r.folder }, sw, el("span", { text: r.name }), tags, r.resumed ? el("span", { class: "ts-tag", text: "resumed" }) : null),
      el("td", {}, el("span", { class: `ts-status ts-${r.status}`, text: r.status })),
      el("td", { class: "ts-num", text: fmtInt(r.max_step) }),
      el("td", { text: fmtAge(r.age) }),
      el("td", { text: fmtDuration(r.duration) }),
      el("td", { text: r.start_time ? new Date(r.start_time * 1000).toLocaleString() : "–" }),
      ...metrics.map((m) => {
        const v = metricOf(r, m);
        return el("td", { class: "ts-num", title: v ? `${fmtInt(v.points)} points, min ${fmtValue(v.min)}, max ${fmtValue(v.max)}${v.nonfinite ? `, ${v.nonfinite} non-finite` : ""}` : "" },
          v ? `${fmtValue(v.last)}${v.best !== null && v.best !== v.last ? ` (best ${fmtValue(v.best)})` : ""}${v.nonfinite ? " ⚠" : ""}` : "–");
      }),
      ...config.map((k) => el("td", { text: r.config[k] === undefined ? "–" : String(r.config[k]) })));
  }
}

function metricOf(r, m) {
  return r.metrics.find((x) => x.split === m.split && x.name === m.name);
}

function commonMetrics(runs, most) {
  const count = new Map();
  for (const r of runs) for (const m of r.metrics) {
    const k = m.split + "\u0000" + m.name;
    count.set(k, (count.get(k) || 0) + 1);
  }
  return [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, most)
    .map(([k]) => { const [split, name] = k.split("\u0000"); return { split, name }; });
}

function differingConfig(runs, most) {
  const values = new Map();
  for (const r of runs.slice(0, 2000)) for (const [k, v] of Object.entries(r.config)) {
    if (!values.has(k)) values.set(k, new Set());
    values.get(k).add(JSON.stringify(v));
  }
  return [...values.entries()].filter(([, s]) => s.size > 1 || runs.length === 1).map(([k]) => k).slice(0, most);
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
