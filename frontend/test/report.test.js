// Pure functions of the report's charts (frontend/src/report/): scales, ticks, lookups,
// number formats and colours.
import { test } from "node:test";
import assert from "node:assert/strict";
import { scale, niceTicks, logTicks, extent, below, nearest } from "../src/report/scale.js";
import { fmt, fmtStep, fmtRange } from "../src/report/numbers.js";
import { ramp, dashOf, color, PALETTE } from "../src/report/colors.js";
import { runs } from "../src/report/lines.js";

test("a linear scale maps and inverts", () => {
  const x = scale(0, 100, 50, 250);
  assert.equal(x(0), 50);
  assert.equal(x(50), 150);
  assert.equal(x.invert(150), 50);
});

test("a log scale maps decades evenly", () => {
  const y = scale(1, 1000, 300, 0, true);
  assert.equal(y(1), 300);
  assert.equal(y(10), 200);
  assert.ok(Math.abs(y.invert(100) - 100) < 1e-9);
});

test("nice ticks are 1, 2 or 5 times a power of ten inside the range", () => {
  assert.deepEqual(niceTicks(0, 4999, 5), [0, 1000, 2000, 3000, 4000]);
  assert.deepEqual(niceTicks(0.93, 0.98, 5), [0.93, 0.94, 0.95, 0.96, 0.97, 0.98]);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test("log ticks: powers of ten, with 2× and 5× when there would be too few", () => {
  assert.deepEqual(logTicks(1e-4, 10), [1e-4, 1e-3, 1e-2, 1e-1, 1, 10]);
  assert.deepEqual(logTicks(1.7, 38), [2, 5, 10, 20]);
});

test("extent pads the finite values and ignores the rest", () => {
  assert.deepEqual(extent([1, null, 3, NaN, undefined]), [0.9, 3.1]);
  assert.deepEqual(extent([2, 2]), [1.8, 2.2]);
  assert.deepEqual(extent([-1, 0, 10, 100], true), [10 / 1.15, 100 * 1.15]);
  assert.deepEqual(extent([]), [0, 1]);
});

test("below and nearest find indices in a sorted array", () => {
  const xs = [0, 10, 20, 30];
  assert.equal(below(xs, 19), 1);
  assert.equal(below(xs, -5), 0);
  assert.equal(nearest(xs, 16), 2);
  assert.equal(nearest(xs, 14), 1);
  assert.equal(nearest([], 3), -1);
});

test("runs split a series at its gaps", () => {
  const y = [1, null, 2, 3, null, null, 4];
  assert.deepEqual(runs(y.length, (i) => y[i] !== null), [[0], [2, 3], [6]]);
});

test("numbers: 4 significant digits, exponents at the extremes, steps with commas", () => {
  assert.equal(fmt(0.123456), "0.1235");
  assert.equal(fmt(123456), "1.23e+5");
  assert.equal(fmt(0.00001234), "1.23e-5");
  assert.equal(fmt(0), "0");
  assert.equal(fmt(null), "–");
  assert.equal(fmtStep(12345), "12,345");
  assert.equal(fmtRange(5, 5), "step 5");
  assert.equal(fmtRange(0, 1999), "steps 0–1,999");
});

test("colours: viridis ends, solid train lines, a palette that wraps", () => {
  assert.deepEqual(ramp(0), [68, 1, 84]);
  assert.deepEqual(ramp(1), [253, 231, 37]);
  assert.deepEqual(ramp(NaN), [68, 1, 84]);
  assert.equal(dashOf("train"), null);
  assert.equal(dashOf(undefined), null);
  assert.equal(dashOf("val"), "7 4");
  assert.equal(dashOf("holdout"), "9 3 2 3");
  assert.equal(color(PALETTE.length + 1), PALETTE[1]);
});
