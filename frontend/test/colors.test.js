// Value colours: a position from Python picks one step of the ramp, as in the static graph.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NO_VALUE, colorFor, rampCSS, rampStep } from "../src/colors.js";

const legend = { ramp: ["#a", "#b", "#c", "#d", "#e", "#f", "#g", "#h", "#i"], dark: 5 };

test("a position picks round(v · 8) of nine steps, as render/color_ramp.py", () => {
  assert.equal(rampStep(legend.ramp, 0), 0);
  assert.equal(rampStep(legend.ramp, 0.5), 4);
  assert.equal(rampStep(legend.ramp, 0.5625), 5); // 4.5 rounds up in both (ramp_step)
  assert.equal(rampStep(legend.ramp, 1), 8);
  assert.equal(rampStep(legend.ramp, 7), 8); // clipped
});

test("dark steps carry white text; no value is neutral", () => {
  assert.deepEqual(colorFor(legend, 1), { fill: "#i", light: true });
  assert.deepEqual(colorFor(legend, 0.25), { fill: "#c", light: false });
  assert.deepEqual(colorFor(legend, undefined), { fill: NO_VALUE, light: false });
  assert.deepEqual(colorFor(legend, NaN), { fill: NO_VALUE, light: false });
});

test("the legend bar has one hard-edged band per step", () => {
  const css = rampCSS(["#000000", "#ffffff"]);
  assert.equal(css, "linear-gradient(to right, #000000 0.00% 50.00%, #ffffff 50.00% 100.00%)");
});
