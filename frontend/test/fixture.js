// A small viewer data set, as viewer_data.py writes it (keys documented there).

const shape = (s) => [[s, "float32"]];
const op = (n, m, sc, out) => ({ n, t: n, m, sc, i: [], o: shape(out), pr: [], mc: 0, ab: 0, a: [], k: 0 });

// Net: enc → pool (call 1) → layers.0 → layers.1 → pool (call 2), as viewer_data writes it.
export const DATA = {
  title: "Net",
  depth: 1,
  modules: [
    { p: "", t: "Net", st: "", c: 1, np: 60, s: 0, k: 0 },
    { p: "enc", t: "Linear", st: "4→4", c: 1, np: 20, s: 1, k: 0 },
    { p: "pool", t: "MaxPool1d", st: "kernel 2", c: 2, np: 0, s: 2, k: 5 },
    { p: "layers", t: "ModuleList", st: "", c: 0, np: 40, s: 3, k: 0 },
    { p: "layers.0", t: "Linear", st: "4→4", c: 1, np: 20, s: 1, k: 0 },
    { p: "layers.1", t: "Linear", st: "4→4", c: 1, np: 20, s: 1, k: 0 },
  ],
  scopes: [
    { m: 0, c: 1, par: -1, ch: [1, 2, 3, 6], ops: [], r: [], o: 0, out: shape("[1, 1]") },
    { m: 1, c: 1, par: 0, ch: [], ops: [0], r: [], o: 0, out: shape("[1, 4]") },
    { m: 2, c: 1, par: 0, ch: [], ops: [1], r: [], o: 1, out: shape("[1, 2]") },
    { m: 3, c: 0, par: 0, ch: [4, 5], ops: [], r: [[0, 1]], o: 2, out: [] },
    { m: 4, c: 1, par: 3, ch: [], ops: [2], r: [], o: 2, out: shape("[1, 4]") },
    { m: 5, c: 1, par: 3, ch: [], ops: [3], r: [], o: 3, out: shape("[1, 4]") },
    { m: 2, c: 2, par: 0, ch: [], ops: [4], r: [], o: 4, out: shape("[1, 1]") },
  ],
  ops: [op("linear", 1, 1, "[1, 4]"), op("max_pool1d", 2, 2, "[1, 2]"), op("linear", 4, 4, "[1, 4]"),
    op("linear", 5, 5, "[1, 4]"), op("max_pool1d", 2, 6, "[1, 1]")],
  edges: [["input0", "op0"], ["op0", "op1"], ["op1", "op2"], ["op2", "op3"], ["op3", "op4"], ["op4", "output0"]],
  inputs: [["x", "[1, 4]", "float32"]],
  outputs: [["y", "[1, 1]", "float32"]],
};
