// One run's split of a metric as a chart holds it: segments of buckets from the server
// (min, max, last per pixel column, NaN/inf counts), extended by live rows, and merged
// pairwise (exactly: min of mins, max of maxs, the later last) when they outgrow the chart.
//
// A segment is a stretch of strictly increasing x. A resumed run (a new writer session, or
// a step lower than the last) starts a new segment: its points are kept and drawn as their
// own line, never dropped or mixed into the earlier one.

const NF_CODE = { nan: 1, pinf: 2, ninf: 3 };

function emptySegment(smooth) {
  return { x: [], last: [], min: [], max: [], cnt: [], nf: [], smooth: smooth ? [] : null, seg: 0 };
}

export class SeriesData {
  constructor(payload, axis) {
    this.run = payload.run;
    this.split = payload.split;
    this.metric = payload.metric;
    this.axis = axis;
    this.points = payload.points;
    this.sid = payload.sid;
    this.cursor = payload.cursor; // [chunk id, points of it held]: where the data ends
    this.origin = payload.origin ?? 0;
    this.unordered = payload.unordered;
    this.ema = payload.ema ? { ...payload.ema, weight: 0, spacing: payload.spacing } : null;
    this.lastStep = null;
    this.lastSession = null;
    this.segments = payload.segments.map((s) => fromPayload(s, payload.raw, !!this.ema));
  }

  setSmoothing(weight) {
    if (this.ema) this.ema.weight = weight;
  }

  get shown() {
    let n = 0;
    for (const s of this.segments) n += s.x.length;
    return n;
  }

  // A stream row of this series: the points after the cursor are appended, the rest (sent
  // again after a reconnect) dropped. A row is part of stored chunk `c` from point `from`.
  take(row) {
    const [c, n] = this.cursor || [0, 0];
    if (row.c < c) return 0;
    const skip = row.c === c ? Math.max(0, n - row.from) : 0;
    if (skip >= row.steps.length) return 0;
    this.append(row, skip);
    this.cursor = [row.c, row.from + row.steps.length];
    return row.steps.length - skip;
  }

  // Stored points of this series (a stream row) appended, from position `skip` on.
  append(row, skip = 0) {
    const walls = row.walls;
    const codes = new Map(row.nf.map(([i, c]) => [i, c]));
    for (let i = skip; i < row.steps.length; i++) {
      const step = row.steps[i];
      const x = this.axis === "step" ? step : this.axis === "wall" ? walls[i] : walls[i] - this.origin;
      if (x === null || x === undefined) continue;
      this.addPoint(x, step, row.values[i], codes.get(i) || 0, row.seg ?? 0);
    }
    this.points += row.steps.length - skip;
  }

  addPoint(x, step, value, code, session) {
    let seg = this.segments[this.segments.length - 1];
    const restart = !seg || (this.lastSession !== null && session !== this.lastSession)
      || (this.lastStep !== null && step < this.lastStep);
    const backwards = seg && seg.x.length && x < seg.x[seg.x.length - 1];
    if (!seg || restart || backwards) {
      seg = emptySegment(!!this.ema);
      this.segments.push(seg);
    }
    const smoothed = this.ema ? this.smoothNext(step, value, code, restart) : null;
    this.lastStep = step;
    this.lastSession = session;
    const finite = code === 0;
    const n = seg.x.length;
    if (n && seg.x[n - 1] === x) { // the same x again: one bucket holds both points
      combine(seg, n - 1, { last: finite ? value : null, min: finite ? value : null, max: finite ? value : null, cnt: 1, nf: nfOf(code) });
      if (seg.smooth) seg.smooth[n - 1] = smoothed;
      return;
    }
    seg.x.push(x);
    seg.last.push(finite ? value : null);
    seg.min.push(finite ? value : null);
    seg.max.push(finite ? value : null);
    seg.cnt.push(1);
    seg.nf.push(nfOf(code));
    if (seg.smooth) seg.smooth.push(smoothed);
  }

  // The debiased EMA of the server (store/buckets.py ema_uneven), one point further.
  smoothNext(step, value, code, restart) {
    const e = this.ema;
    const finite = code === 0;
    const gap = e.last_x === null ? 1 : Math.max((step - e.last_x) / Math.max(e.spacing, 1e-300), 1);
    const w = Math.pow(e.weight, gap);
    const keep = finite && !restart ? w : 0; // a restart (or a NaN) starts the average afresh
    const gain = finite ? 1 - w : 0;
    e.acc = keep * e.acc + gain * (finite ? value : 0);
    e.norm = keep * e.norm + gain;
    e.last_x = step;
    return finite && e.norm > 0 ? e.acc / e.norm : null;
  }

  // Halve every segment longer than `limit` buckets by merging neighbours, exactly.
  compact(limit) {
    for (const s of this.segments) if (s.x.length > limit) halve(s);
  }
}

function nfOf(code) {
  return code ? [code === NF_CODE.nan ? 1 : 0, code === NF_CODE.pinf ? 1 : 0, code === NF_CODE.ninf ? 1 : 0, code] : null;
}

function fromPayload(s, raw, smooth) {
  const n = s.x.length;
  const nf = new Array(n).fill(null);
  for (const [i, nan, pinf, ninf, code] of s.nf) nf[i] = [nan, pinf, ninf, code];
  return {
    x: s.x, last: s.last, min: s.min, max: s.max,
    cnt: raw ? new Array(n).fill(1) : s.n,
    nf, smooth: smooth && s.smooth ? s.smooth : smooth ? new Array(n).fill(null) : null,
  };
}

// Fold bucket `b` into bucket i of the segment (b comes later).
function combine(seg, i, b) {
  seg.last[i] = b.last;
  seg.min[i] = fmin(seg.min[i], b.min);
  seg.max[i] = fmax(seg.max[i], b.max);
  seg.cnt[i] += b.cnt;
  const a = seg.nf[i];
  if (b.nf || a) {
    const x = a || [0, 0, 0, 0], y = b.nf || [0, 0, 0, 0];
    seg.nf[i] = [x[0] + y[0], x[1] + y[1], x[2] + y[2], y[3]];
  }
}

const fmin = (a, b) => (a === null ? b : b === null ? a : Math.min(a, b));
const fmax = (a, b) => (a === null ? b : b === null ? a : Math.max(a, b));

function halve(s) {
  const n = s.x.length;
  const out = emptySegment(!!s.smooth);
  for (let i = 0; i < n; i += 2) {
    const j = Math.min(i + 1, n - 1);
    out.x.push(s.x[j]);
    out.last.push(s.last[j]);
    out.min.push(fmin(s.min[i], j > i ? s.min[j] : null));
    out.max.push(fmax(s.max[i], j > i ? s.max[j] : null));
    out.cnt.push(s.cnt[i] + (j > i ? s.cnt[j] : 0));
    const a = s.nf[i], b = j > i ? s.nf[j] : null;
    out.nf.push(a || b ? [(a?.[0] || 0) + (b?.[0] || 0), (a?.[1] || 0) + (b?.[1] || 0), (a?.[2] || 0) + (b?.[2] || 0), j > i ? (b ? b[3] : 0) : a[3]] : null);
    if (out.smooth) out.smooth.push(s.smooth[j]);
  }
  Object.assign(s, out);
}

// Several series' segments on one sorted x array (uPlot's aligned data). Gaps between
// series are `undefined` (spanned); a non-finite last value is `null` (a break in the line).
export function align(columns) {
  let total = 0;
  for (const c of columns) total += c.x.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const c of columns) for (const v of c.x) all[k++] = v;
  all.sort();
  const xs = [];
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) xs.push(all[i]);
  const index = new Map(xs.map((v, i) => [v, i]));
  const ys = columns.map((c) => {
    const y = new Array(xs.length);
    for (let i = 0; i < c.x.length; i++) y[index.get(c.x[i])] = c.y[i];
    return y;
  });
  return { xs, ys, index };
}
