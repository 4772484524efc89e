"""Run overview: the numbers equal the logged data; text and HTML show them, HTML escaped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from sklearn.metrics import f1_score

from tests.render.golden import check_golden, overview_invariant, table_rows
from tests.store.sample_runs import SampleRun, write_sample_run
from torchscope._display import plain_text
from torchscope.render.run_text import overview_renderables, overview_to_html, run_overview
from torchscope.store import RunReader, RunWriter

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    return write_sample_run(tmp_path_factory.mktemp("runs") / "sample", n=200)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with hostile names, a NaN loss, a non-finite event and a histogram."""
    path = tmp_path_factory.mktemp("runs") / "broken"
    with RunWriter(path, run_name="broken [bold]run[/bold]") as w:
        for s in range(4):
            w.log_scalars(s, {"loss": 1.0 / (s + 1), EVIL: float(s)})
        w.log_scalars(4, {"loss": float("nan")})
        w.set_meta("config", {EVIL: "<script>alert(2)</script>", "lr": 0.1})
        w.set_meta("wall_time_s", 75.5)
        w.log_event(4, "nonfinite", {"module": "enc.<fc>", "phase": "backward", "tensor": "grad"})
        w.log_histogram(2, "weight", "fc.weight", [0.0, 1.0, 2.0], [1.0, 3.0])
        w.log_histogram(3, "weight", "fc.weight", [0.0, 1.0, 2.0], [1.0, 3.0])
    return path


def test_overview_numbers_equal_the_logged_data(sample: SampleRun) -> None:
    o = run_overview(sample.path)
    assert o["name"] == "sample" and o["path"] == str(sample.path)
    assert (o["first_step"], o["last_step"]) == (0, 199)
    rows = {(r["split"], r["name"]): r for r in o["scalars"]}
    loss = rows[("train", "loss")]
    expected = [len(sample.train_loss), sample.train_loss[0], sample.train_loss[-1]]
    expected += [sample.train_loss.min(), sample.train_loss.max()]
    assert [loss[k] for k in ("points", "first", "last", "min", "max")] == pytest.approx(expected)
    assert rows[("val", "loss")]["points"] == len(sample.val_steps)
    kinds = {r["kind"]: r for r in o["layer_stats"]}
    assert kinds["grad"]["layers"] == 3 and kinds["grad"]["stats"] == ["norm"]
    assert kinds["activation"]["layers"] == 3
    assert kinds["activation"]["stats"] == ["dead_fraction", "mean"]
    (cls,) = o["classification"]
    assert cls["split"] == "val" and cls["classes"] == 3 and cls["samples"] == 200
    assert cls["accuracy"] == 0.5  # the logged scalar wins over the matrix
    macro = f1_score(sample.y_true, sample.y_pred, average="macro")
    assert cls["macro_f1"] == pytest.approx(macro)  # not logged: computed from the matrix
    assert o["histograms"] == [] and o["events"] == [] and o["model"] is None
    json.dumps(o)  # plain data


def test_overview_of_a_broken_run(broken: Path) -> None:
    o = run_overview(broken)
    loss = next(r for r in o["scalars"] if r["name"] == "loss")
    assert loss["last"] is None and loss["nonfinite"] == 1 and loss["max"] == 1.0
    assert o["histograms"] == [
        {"kind": "weight", "tensors": 1, "snapshots": 2, "first_step": 2, "last_step": 3}
    ]
    assert o["events"][0]["payload"]["module"] == "enc.<fc>"
    assert o["wall_time_s"] == 75.5


def test_text_overview_shows_every_section(sample: SampleRun, broken: Path) -> None:
    text = plain_text(RunReader(sample.path), width=120)
    for heading in ("scalars", "layer statistics", "classification"):
        assert f"\n{heading}" in text
    loss_row = next(ln for ln in text.splitlines() if ln.split()[:2] == ["train", "loss"])
    cells = loss_row.split()
    assert cells[2] == "200" and float(cells[4]) == pytest.approx(sample.train_loss[-1], 1e-3)
    text = plain_text(RunReader(broken), width=120)
    assert "Run broken [bold]run[/bold]" in text  # stored text is never rich markup
    assert "wall time   1m 16s" in text
    assert "first non-finite value at step 4 in enc.<fc> (backward, grad)" in text
    assert EVIL in text and "1 snapshot" not in text and "2 snapshots, steps 2 – 3" in text
    nan_row = next(ln for ln in text.splitlines() if ln.split()[:2] == ["train", "loss"])
    assert nan_row.split()[4] == "nan"


def test_nonfinite_event_is_red(broken: Path) -> None:
    console = Console(width=120, color_system="truecolor", force_terminal=True)
    red: list[str] = []
    for renderable in overview_renderables(RunReader(broken)):
        for seg in console.render(renderable):
            if seg.style is not None and seg.style.color is not None:
                red += [seg.text] if seg.style.color.name == "red" and seg.style.bold else []
    assert red.count("NON-FINITE") == 1  # in the header
    assert red.count("nonfinite") == 1  # and its row in the events table
    assert sum("first non-finite value at step 4" in t for t in red) == 2


def test_html_escapes_every_stored_string(broken: Path) -> None:
    html = RunReader(broken)._repr_html_()
    assert "<img" not in html and "<script>" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # config key and scalar name
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "enc.&lt;fc&gt;" in html and 'class="bad"' in html
    assert overview_to_html(run_overview(broken)) == html  # the dict and the reader agree


def test_rich_print_of_a_reader(sample: SampleRun) -> None:
    console = Console(width=100, record=True, color_system=None)
    with RunReader(sample.path) as reader:
        console.print(reader)
        assert repr(reader) == f"RunReader({str(reader.path)!r})"
    text = console.export_text()
    assert text.startswith("Run sample\n") and "update_ratio" in text


def test_overview_of_a_monitored_run(tmp_path: Path) -> None:
    from tests.monitor.models_monitor import SmallCNN
    from torchscope._api import summary
    from torchscope.monitor import Monitor

    torch.manual_seed(0)
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    config = {"lr": 0.1, EVIL: 1}
    with Monitor(
        model, opt, logdir=str(tmp_path), every=1, histograms_every=2, config=config,
        example_input=(x[:1],),
    ) as mon:  # fmt: skip
        for step in range(4):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.log(step, loss=loss.detach())
    o = run_overview(tmp_path)
    assert o["environment"]["torch"] == torch.__version__
    assert o["monitor"]["histograms_every"] == 2 and o["config"] == config
    totals = summary(model, x[:1]).totals
    assert (
        o["model"]["total_params"]
        == totals.total_params
        == sum(p.numel() for p in model.parameters())
    )
    assert o["model"]["macs"] == totals.macs
    hists = {r["kind"]: r for r in o["histograms"]}
    assert hists["weight"]["tensors"] == len(list(model.parameters()))
    assert hists["weight"]["snapshots"] == 2
    assert isinstance(o["wall_time_s"], float) and (o["first_step"], o["last_step"]) == (0, 3)
    assert np.isfinite(next(r["last"] for r in o["scalars"] if r["name"] == "loss"))


def test_nonfinite_note_is_shown(tmp_path: Path) -> None:
    event = {"module": "Net", "phase": "forward", "tensor": "output", "note": "only the model"}
    with RunWriter(tmp_path / "run") as w:
        w.log_event(7, "nonfinite", event)
    text = plain_text(RunReader(tmp_path / "run"), width=200)
    assert "first non-finite value at step 7 in Net (forward, output); only the model" in text


def write_golden_run(path: Path) -> None:
    """A small run whose every stored value is fixed, timestamps and environment included."""
    grad = "transformer.h.{}.attn.{}.weight.grad_norm"
    with RunWriter(path, run_name="golden") as w:
        w.set_meta("started", 1_700_000_000.0)
        w.set_meta("wall_time_s", 754.25)
        w.set_meta("environment", {"torch": "2.13.0", "device": "cpu", "python": "3.11.7"})
        w.set_meta("config", {"lr": 0.001, "batch_size": 32, "schedule": "cosine"})
        for s in range(10):
            values = {"loss": 2.0 / (s + 1), "lr": 0.001}
            values |= {grad.format(i, p): (i + 1) * 0.25 + s / 8 for i in (0, 1) for p in _P}
            if s == 9:
                values[grad.format(1, "c_proj")] = float("nan")
            w.log_scalars(s, values, wall_time=1_700_000_000.0 + s)
            if s % 2 == 0:
                layers = {f"transformer.h.{i}": {"norm": 0.5 * (i + 1)} for i in (0, 1)}
                w.log_layer_stats(s, "grad", layers)
        for s in (4, 9):
            w.log_scalars(s, {"loss": 1.0 / (s + 1), "accuracy": 0.25 + s / 20}, split="val")
        for s in (0, 5):
            for name in ("transformer.h.0.attn.c_attn.weight", "lm_head.weight"):
                w.log_histogram(s, "weight", name, [0.0, 0.5, 1.0], [3.0, 5.0])
        w.log_confusion(9, "val", [[5, 1, 0], [2, 6, 0], [0, 1, 9]], ["cat", "dog", "bird"])
        w.log_event(9, "nonfinite", {"module": "transformer.h.1.attn.c_proj", "phase": "backward"})


_P = ("c_attn", "c_proj")


@pytest.mark.parametrize("width", [80, 120])
def test_overview_golden(width: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the overview shows the run's path: keep it relative
    write_golden_run(Path("runs/golden"))
    with RunReader("runs/golden") as reader:
        text = plain_text(reader, width=width)
        assert all(len(line) <= width for line in text.splitlines())
        check_golden(f"run_{width}.txt", text, overview_invariant)
        assert len(table_rows(text, "split")) == len(reader.scalar_names())


def test_overview_keeps_names_apart_at_80_columns(tmp_path: Path) -> None:
    """Issue 10: names that share a head and a tail (``…c_attn…`` / ``…c_proj…``) stay
    distinguishable in a narrow table."""
    write_golden_run(tmp_path / "run")
    text = plain_text(RunReader(tmp_path / "run"), width=80)
    names = [row.split()[1] for row in table_rows(text, "split") if row.split()[0] == "train"]
    assert len(set(names)) == len(names) == 6
    assert all(("c_attn" in n) != ("c_proj" in n) for n in names if n not in ("loss", "lr"))
