// Escaping, shortening and number formats used for every text the viewer draws.
import assert from "node:assert/strict";
import { test } from "node:test";
import { esc, fmtBytes, fmtSI, shortenMiddle, splitAttributes } from "../src/format.js";

test("esc leaves no markup in a hostile name", () => {
  const hostile = `<img src=x onerror=alert(1)>"'&`;
  const out = esc(hostile);
  assert.equal(out, "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;");
  assert.ok(!/[<>"']/.test(out));
});

test("shortenMiddle keeps the start and the distinguishing end", () => {
  assert.equal(shortenMiddle("transformer.h.0.attn.c_proj", 20), "transform…ttn.c_proj");
  assert.equal(shortenMiddle("short", 20), "short");
  const long = "x".repeat(100000) + "tail";
  const cut = shortenMiddle(long, 38);
  assert.equal(cut.length, 38);
  assert.ok(cut.endsWith("tail"));
});

test("numbers in SI and binary units", () => {
  assert.equal(fmtSI(272), "272");
  assert.equal(fmtSI(0.04216), "0.0422");
  assert.equal(fmtSI(12.345, "ms"), "12.3 ms");
  assert.equal(fmtSI(25600), "25.60 K");
  assert.equal(fmtSI(8.78e12, "MACs"), "8.78 TMACs");
  assert.equal(fmtBytes(1536), "1.50 KiB");
  assert.equal(fmtBytes(12), "12 B");
});

test("extra_repr splits at top-level commas only", () => {
  assert.deepEqual(splitAttributes("3, 16, kernel_size=(3, 3), stride=(1, 1)"), [
    ["", "3"], ["", "16"], ["kernel_size", "(3, 3)"], ["stride", "(1, 1)"],
  ]);
});
