// The display tree from the viewer's data: one node per call, runs, group edges.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTree, callLabel, isVisible, varies, visibleOf } from "../src/tree.js";
import { DATA } from "./fixture.js";

test("callLabel names a call only when there are several", () => {
  assert.equal(callLabel("pool", 2, 2), "pool (call 2)");
  assert.equal(callLabel("fc", 1, 1), "fc");
  assert.equal(callLabel("list", 0, 0), "list");
});

test("each call of a module is its own node, in the order they ran", () => {
  const tree = buildTree(DATA);
  assert.deepEqual(tree.root.children.map((c) => c.label), ["x", "enc", "pool (call 1)", "layers", "pool (call 2)", "y"]);
  const layers = tree.root.children[3];
  const [run] = layers.children;
  assert.equal(run.kind, "run");
  assert.equal(run.label, "layers.0-1");
  assert.equal(run.count, 2);
  assert.equal(run.info, "each 20 params · [1, 4]"); // per copy, said so
  assert.deepEqual(run.children.map((c) => c.label), ["0", "1"]);
  const pool2 = tree.root.children[4];
  assert.equal(pool2.sub, "MaxPool1d · kernel 2");
  assert.equal(pool2.info, "[1, 1]"); // its own call's output, not the first call's
});

test("edges between children of a group form a chain, with no cycle", () => {
  const tree = buildTree(DATA);
  const labels = tree.root.children.map((c) => c.label);
  const pairs = [...tree.root.gedges.values()].map(([a, b]) => [labels[a], labels[b]]);
  assert.deepEqual(pairs, [["x", "enc"], ["enc", "pool (call 1)"], ["pool (call 1)", "layers"],
    ["layers", "pool (call 2)"], ["pool (call 2)", "y"]]);
  for (const [a, b] of tree.root.gedges.values()) assert.ok(a < b, "every edge points forward");
});

test("a collapsed group stands for the leaves inside it", () => {
  const tree = buildTree(DATA);
  const leaf = tree.opNodes[2];
  assert.equal(visibleOf(leaf).label, "layers");
  assert.equal(isVisible(leaf), false);
  for (let p = leaf.parent; p; p = p.parent) p.expanded = true;
  assert.equal(visibleOf(leaf), leaf);
  assert.equal(isVisible(leaf), true);
});

test("two calls of one module give identical layout keys only when drawn alike", () => {
  const tree = buildTree(DATA);
  const [pool1, pool2] = tree.moduleNodes.filter((n) => n.mod === 2);
  assert.notEqual(pool1.staticKey, pool2.staticKey); // different output shapes on their ops
});

test("a run whose copies differ in a dropout rate says so on its node", () => {
  assert.equal(varies({ vr: ["drop.p 0 … 0.2 (5 values)"] }), "varies: drop.p 0 … 0.2 (5 values)");
  assert.equal(varies({ vr: ["a.p 0, 0.1", "b.p 1, 2"] }), "varies: a.p 0, 0.1 +1");
  assert.equal(varies({}), "");
  const data = structuredClone(DATA);
  data.modules[4].vr = ["drop.p 0, 0.1"];
  const run = buildTree(data).nodes.find((n) => n.kind === "run");
  assert.equal(run.note, "varies: drop.p 0, 0.1");
});
