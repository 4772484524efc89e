// Layout pieces that need no browser: node sizes, chains without dagre, the shared cache.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Layouts, collapsedSize, setTextMeasure, simpleLayout } from "../src/layout.js";
import { buildTree } from "../src/tree.js";
import { DATA } from "./fixture.js";

setTextMeasure((text) => 7 * text.length);

test("a module node grows a line for its params and output shape", () => {
  const plain = collapsedSize({ kind: "module", label: "fc", sub: "Linear" });
  const withInfo = collapsedSize({ kind: "module", label: "fc", sub: "Linear", info: "20 params · [1, 4]" });
  assert.equal(withInfo[1], plain[1] + 14);
  assert.ok(withInfo[0] >= 7 * "20 params · [1, 4]".length + 20);
  const huge = collapsedSize({ kind: "module", label: "x".repeat(100000), sub: "" });
  assert.equal(huge[0], 340); // capped: a hostile name cannot make a giant node
});

test("a chain is a centred column without dagre", () => {
  const group = { label: "g", gedges: new Map([["0,1", [0, 1]], ["1,2", [1, 2]]]) };
  const lay = simpleLayout(group, [[100, 40], [60, 40], [100, 40]]);
  assert.deepEqual([...lay.pos], [0, 0, 20, 66, 0, 132]);
  assert.equal(lay.h, 3 * 40 + 2 * 26);
  assert.equal(simpleLayout({ label: "g", gedges: new Map([["0,2", [0, 2]]]) }, [[1, 1], [1, 1], [1, 1]]), null);
});

test("identical groups share one cached layout", () => {
  const tree = buildTree(DATA);
  for (const n of tree.nodes) if (n.children) n.expanded = true;
  const layouts = new Layouts();
  layouts.ensure(tree.root);
  const [first, second] = tree.nodes.filter((n) => n.kind === "module" && n.mod >= 4);
  assert.equal(first.layout, second.layout); // layers.0 and layers.1: same structure
  const computed = layouts.computed;
  layouts.ensure(tree.root);
  assert.equal(layouts.computed, computed); // nothing laid out twice
});
