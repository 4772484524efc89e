// The pan/zoom maths, apart from any browser event.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_READABLE, Transform, centerTransform, fitTransform } from "../src/transform.js";

test("apply and invert are inverse", () => {
  const t = new Transform(1.5, 30, -12);
  assert.deepEqual(t.apply([10, 20]), [45, 18]);
  assert.deepEqual(t.invert(t.apply([7, 9])), [7, 9]);
});

test("zooming at a point keeps that point under the pointer", () => {
  const t = new Transform(1, 20, 20);
  const z = t.zoomAt([300, 200], 2.5);
  assert.equal(z.k, 2.5);
  assert.deepEqual(z.invert([300, 200]), t.invert([300, 200]));
  assert.equal(t.zoomAt([0, 0], 100).k, 4); // clamped
  assert.equal(t.zoomAt([0, 0], 0).k, 0.02);
});

test("translateBy moves without zooming and leaves the original alone", () => {
  const t = new Transform(2, 1, 1);
  const moved = t.translateBy(10, -5);
  assert.deepEqual([moved.k, moved.x, moved.y], [2, 11, -4]);
  assert.deepEqual([t.x, t.y], [1, 1]);
  assert.equal(moved.toString(), "translate(11.0,-4.0) scale(2.0000)");
});

test("fit shows a small graph whole and centred", () => {
  const t = fitTransform(1000, 800, 400, 300);
  assert.equal(t.k, 1.2); // never blown up past 1.2
  assert.equal(t.x, (1000 - 400 * 1.2) / 2);
  assert.equal(t.y, 20);
});

test("fit of a tall expanded graph stays readable and starts at the top", () => {
  // the reported case: 3,711 px tall in an 860 px window
  const t = fitTransform(1300, 860, 575, 3711);
  assert.equal(t.k, MIN_READABLE);
  assert.ok(12 * t.k >= 9, "12 px labels drawn at 9 px or more");
  assert.equal(t.y, 20);
  assert.equal(t.x, (1300 - 575 * MIN_READABLE) / 2); // still centred across: it fits
  const wide = fitTransform(800, 600, 5000, 400);
  assert.equal(wide.k, MIN_READABLE);
  assert.equal(wide.x, 20); // too wide: starts at the left, the user pans
});

test("centring on a node puts its middle in the middle of the view", () => {
  const t = centerTransform(1000, 800, { x: 100, y: 400, w: 50, h: 20 }, new Transform(0.3, 0, 0));
  assert.equal(t.k, 0.8);
  assert.deepEqual(t.apply([125, 410]), [500, 400]);
});
