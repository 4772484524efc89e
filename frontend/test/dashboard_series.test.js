// The dashboard's chart data: live points appended, resumed runs split into segments,
// exact pairwise merging (min of mins, max of maxs, the later last), smoothing continued
// as the server's ema_uneven, and several series aligned on one x array for uPlot.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SeriesData, align } from "../src/dashboard/series.js";
import { colorPosition } from "../src/dashboard/colors.js";

const payload = (segments, extra = {}) => ({
  run: "r", split: "train", metric: "loss", points: 0, cursor: 0, origin: 0, unordered: false,
  raw: true, ema: null, spacing: 1, segments, ...extra,
});

test("live rows extend the last segment; a lower step starts a new one", () => {
  const s = new SeriesData(payload([{ x: [0, 1], last: [5, 4], min: [5, 4], max: [5, 4], nf: [] }], { points: 2 }), "step");
  s.append({ steps: [2, 3], values: [3, null], walls: [0, 0], nf: [[1, 1]], seg: 0 });
  assert.equal(s.segments.length, 1);
  assert.deepEqual(s.segments[0].x, [0, 1, 2, 3]);
  assert.deepEqual(s.segments[0].nf[3], [1, 0, 0, 1]); // the NaN is counted and its code kept
  s.append({ steps: [1, 2], values: [9, 8], walls: [0, 0], nf: [], seg: 0 });
  assert.equal(s.segments.length, 2); // resumed at step 1: kept as a second line
  assert.deepEqual(s.segments[1].x, [1, 2]);
  assert.equal(s.points, 6);
});

test("a new writer session starts a segment even when steps keep rising", () => {
  const s = new SeriesData(payload([]), "step");
  s.append({ steps: [0, 1], values: [1, 1], walls: [0, 0], nf: [], seg: 0 });
  s.append({ steps: [2], values: [1], walls: [0], nf: [], seg: 1 });
  assert.deepEqual(s.segments.map((g) => g.x), [[0, 1], [2]]);
});

test("halving merges neighbours exactly, the spike survives", () => {
  const s = new SeriesData(payload([]), "step");
  const values = [1, 1, 1, 50, 1, 1, 1];
  s.append({ steps: values.map((_, i) => i), values, walls: values.map(() => 0), nf: [], seg: 0 });
  s.compact(4);
  const g = s.segments[0];
  assert.deepEqual(g.x, [1, 3, 5, 6]);
  assert.deepEqual(g.max, [1, 50, 1, 1]);
  assert.deepEqual(g.cnt, [2, 2, 2, 1]);
  assert.equal(g.cnt.reduce((a, b) => a + b), 7); // every point still counted
});

test("smoothing continues from the server's state, restarting after a NaN", () => {
  const s = new SeriesData(payload([], { ema: { acc: 0, norm: 0, last_x: null } }), "step");
  s.setSmoothing(0.5);
  s.append({ steps: [0, 1, 3], values: [1, 3, 3], walls: [0, 0, 0], nf: [], seg: 0 });
  const sm = s.segments[0].smooth;
  assert.equal(sm[0], 1);
  assert.ok(Math.abs(sm[1] - 2.3333333333) < 1e-9); // as ema_uneven's doctest
  assert.ok(Math.abs(sm[2] - 2.8666666667) < 1e-9); // a gap of 2 decays by 0.5²
  s.append({ steps: [4, 5], values: [null, 7], walls: [0, 0], nf: [[0, 1]], seg: 0 });
  assert.equal(sm[3], null);
  assert.equal(sm[4], 7); // not pulled towards the values before the NaN
});

test("align puts several series on one sorted x array, gaps undefined", () => {
  const { xs, ys } = align([{ x: [0, 2], y: [1, 2] }, { x: [1, 2], y: [5, null] }]);
  assert.deepEqual(xs, [0, 1, 2]);
  assert.deepEqual(ys.map((y) => Array.from(y)), [[1, undefined, 2], [undefined, 5, null]]);
});

test("colour positions follow analysis/color_scale.py", () => {
  assert.equal(colorPosition(5, 0, 10, false), 0.5);
  assert.equal(colorPosition(100, 1, 10000, true), 0.5);
  assert.equal(colorPosition(0, 1, 10, true), 0); // ≤ 0 on a log scale
  assert.equal(colorPosition(3, 3, 3, false), 1);
});

test("stream rows are taken after the cursor, also within a chunk that grew", () => {
  const s = new SeriesData(payload([{ x: [0, 1], last: [1, 1], min: [1, 1], max: [1, 1], nf: [] }], { points: 2, cursor: [7, 2] }), "step");
  const row = (c, from, steps) => ({ c, from, steps, values: steps.map(() => 2), walls: steps.map(() => 0), nf: [], seg: 0 });
  assert.equal(s.take(row(6, 0, [5])), 0); // an older chunk: had it
  assert.equal(s.take(row(7, 0, [0, 1, 2, 3])), 2); // chunk 7 grew by two points
  assert.deepEqual(s.segments[0].x, [0, 1, 2, 3]);
  assert.equal(s.take(row(7, 2, [2, 3])), 0); // sent again after a reconnect: dropped
  assert.equal(s.take(row(9, 0, [4])), 1);
  assert.deepEqual(s.cursor, [9, 1]);
  assert.equal(s.points, 5);
});
