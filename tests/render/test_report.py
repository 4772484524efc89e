"""The HTML report: which sections each input gives, what they hold, escaping, size limits
and byte-identical builds. The page in a real browser is in tests/browser/test_report.py."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import torchscope
from tests.models import MLP
from tests.render.report_runs import (
    IMG,
    LAYERS,
    NAN_STEP,
    SCRIPT,
    SPIKE,
    SPIKE_STEP,
    STEPS,
    HostileNet,
    loss_at,
    write_run,
)
from torchscope.render.inline import embed_json
from torchscope.render.report_glossary import DEFINITIONS, definition
from torchscope.render.report_training import MAX_POINTS, bucket_max


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("report") / "run")


@pytest.fixture(scope="module")
def full_html(run_dir: Path) -> str:
    torch.manual_seed(0)
    r = torchscope.report(MLP(), input_size=(2, 20), run=run_dir, title="MLP report")
    return r.to_html()


def script(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}">') + len(f'id="{element_id}">')
    return html[start : html.index("</script>", start)]


def charts(html: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(script(html, "ts-report-data"))["charts"]
    return data


def chart_titled(html: str, title: str) -> dict[str, Any]:
    return next(c for c in charts(html).values() if c.get("title") == title)


# --- sections ----------------------------------------------------------------------------


def test_each_subset_of_inputs_gives_its_sections(run_dir: Path, tmp_path: Path) -> None:
    net = MLP()
    only_model = torchscope.report(net, spectral=False)
    assert only_model.section_ids() == ["summary", "parameters", "environment", "appendix"]
    assert any("example inputs" in n for n in only_model.notes)
    traced = torchscope.report(net, inputs=torch.randn(2, 20), spectral=False)
    assert traced.section_ids() == [
        "summary", "architecture", "parameters", "environment", "appendix"
    ]  # fmt: skip
    only_run = torchscope.report(run=run_dir)
    assert only_run.section_ids() == ["summary", "training", "evaluation", "environment",
                                      "appendix"]  # fmt: skip
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_file(net.state_dict(), str(a))
    save_file({k: v + 0.5 for k, v in net.state_dict().items()}, str(b))
    diffed = torchscope.report(checkpoint=(a, b), spectral=False)
    assert diffed.diff is not None and diffed.params is not None
    assert diffed.params.source.endswith("b.safetensors")
    assert "compared with" in diffed.to_html()
    with pytest.raises(ValueError, match="nothing to report"):
        torchscope.report()


def test_a_run_alone_shows_the_architecture_the_monitor_stored(tmp_path: Path) -> None:
    net = MLP()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with torchscope.Monitor(net, opt, logdir=str(tmp_path / "run"),
                            example_input=(torch.randn(2, 20),)) as mon:  # fmt: skip
        for step in range(3):
            loss = net(torch.randn(2, 20)).square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            mon.log(step, loss=loss)
    r = torchscope.report(run=tmp_path / "run")
    params = sum(p.numel() for p in net.parameters())
    assert r.summary is not None and r.summary.totals.total_params == params == 940
    assert "architecture" in r.section_ids() and "parameters" not in r.section_ids()


def test_summary_cards_hold_the_run_best_and_last(full_html: str) -> None:
    cards = re.findall(
        r'ts-card-label">([^<]*)</div>\s*<div class="ts-card-value">([^<]*)</div>\s*'
        r'(?:<div class="ts-card-detail">([^<]*)</div>)?',
        full_html,
    )
    by_label = {label: (value, detail) for label, value, detail in cards}
    value, detail = by_label["val accuracy"]
    assert value == f"{0.5 + 4999 / 20000:.4g}" and "at step 4,999" in detail
    loss_value, loss_detail = by_label["train loss"]
    finite = [(s, loss_at(s)) for s in range(STEPS) if math.isfinite(loss_at(s))]
    best = min(finite, key=lambda sv: sv[1])
    assert loss_value == f"{loss_at(STEPS - 1):.4g}"
    assert f"best {best[1]:.4g} at step {best[0]:,}" in loss_detail
    assert by_label["Parameters"][0] == f"{sum(p.numel() for p in MLP().parameters()):,}"


def test_provenance_names_the_run_its_start_and_commit(full_html: str) -> None:
    head = full_html[full_html.index('class="ts-head"') : full_html.index('id="summary"')]
    assert "2023-11-14 22:13:20 UTC" in head  # start_time 1_700_000_000
    assert "12m 34s" in head and "0123abcd" in head and "long-run" in head
    assert f"torch {torch.__version__}" in head


def test_parameters_table_equals_the_param_report(run_dir: Path) -> None:
    net = MLP()
    r = torchscope.report(net, inputs=torch.randn(2, 20), spectral=True)
    html = r.to_html()
    stats = r.params
    assert stats is not None and stats.spectral is not None
    first = stats.tensors[0]
    row = re.search(rf"<td>{re.escape(first.name)}</td>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    assert cells[2] == f"{first.numel:,}" and float(cells[4]) == pytest.approx(first.std, rel=1e-3)
    alpha = chart_titled(html, "Spectral alpha per layer")
    drawn = {label.split(" ")[0]: y for s in alpha["series"]
             for label, y in zip(s["labels"], s["y"])}  # fmt: skip
    for layer in stats.spectral.layers:
        if layer.status == "ok":
            assert drawn[layer.name] == pytest.approx(layer.alpha, rel=1e-5)
    assert alpha["band"] == [2.0, 6.0]


# --- training ----------------------------------------------------------------------------


def test_long_curves_are_decimated_to_min_max_buckets(full_html: str) -> None:
    loss = chart_titled(full_html, "loss")
    (train,) = [s for s in loss["series"] if s["name"] == "train"]
    assert len(train["x"]) <= MAX_POINTS < STEPS
    assert sum(train["n"]) == STEPS
    # the spike survives decimation as its bucket's maximum, and nothing exceeds it
    spike_bucket = max(i for i, x in enumerate(train["x"]) if x <= SPIKE_STEP)
    assert train["hi"][spike_bucket] == SPIKE == max(v for v in train["hi"] if v is not None)
    # the NaN is marked where it is
    assert [(m["x"], m["x2"], m["kind"]) for m in loss["marks"]] == [
        (NAN_STEP, NAN_STEP, "nonfinite")
    ]
    for c in charts(full_html).values():
        for s in c.get("series", []):
            assert len(s["x"]) <= MAX_POINTS


def test_constant_scalars_are_named_not_drawn(full_html: str) -> None:
    assert "constant, not drawn: lr = 0.001" in full_html
    assert all(c.get("title") != "lr" for c in charts(full_html).values())


def test_layer_heatmaps_keep_each_bucket_maximum(full_html: str, run_dir: Path) -> None:
    grad = chart_titled(full_html, "Gradient norm per layer")
    assert grad["rows"] == LAYERS and grad["points"] == 3 * STEPS // 10
    values = np.array(grad["values"], dtype=float)
    assert values[2].max() == 3000.0 and values[0].max() == 1.0
    assert len(grad["x"]) <= 400 and grad["x"][0] == 0 and grad["x2"][-1] == STEPS - 10


def test_bucket_max_equals_a_plain_loop() -> None:
    rng = np.random.default_rng(0)
    steps = np.sort(rng.choice(10_000, size=3_000, replace=False))
    values = rng.normal(size=(3, len(steps)))
    values[1, ::7] = np.nan
    out = bucket_max(steps, values, 50)
    lo, span = steps[0], steps[-1] - steps[0] + 1
    for col, (first, last) in enumerate(zip(out["first"], out["last"])):
        members = (steps >= first) & (steps <= last)
        assert np.all((steps[members] - lo) * 50 // span == (first - lo) * 50 // span)
        np.testing.assert_array_equal(out["values"][:, col], np.nanmax(values[:, members], axis=1))
    assert len(out["first"]) == 50


def test_health_timeline_finds_the_nan_and_the_explosion(full_html: str, run_dir: Path) -> None:
    from torchscope.analysis.run_health import gradient_spells
    from torchscope.store.reader import RunReader

    timeline = next(c for c in charts(full_html).values() if c["kind"] == "timeline")
    rows = {r["label"]: r["spells"] for r in timeline["rows"]}
    assert [(s["x"], s["kind"]) for s in rows["train loss"]] == [(NAN_STEP, "nonfinite")]
    with RunReader(run_dir) as run:
        m = run.layer_stats("grad", "norm")
    expected = gradient_spells(m.steps, m.row("fc2.weight"), most=20)
    assert expected and expected[0].first_step == 3960 and expected[0].kind == "exploding"
    drawn = rows["grad norm fc2.weight"]
    assert [(s["x"], s["x2"], s["kind"]) for s in drawn] == [
        (e.first_step, e.last_step, e.kind) for e in expected
    ]
    assert set(rows) == {"train loss", "grad norm fc2.weight"}
    assert timeline["events"] == [{"x": NAN_STEP, "text": "first non-finite value: fc2, forward"}]
    assert f"exploding at {expected[0].steps_text}" in full_html


def test_evaluation_from_the_run_confusion(full_html: str) -> None:
    section = full_html[full_html.index('id="evaluation"') : full_html.index('id="environment"')]
    assert "val split at step 4,999 · 100 samples · 2 classes" in section
    assert '<td>accuracy</td><td class="num">0.85</td>' in section
    assert section.count("<svg") == 2  # the confusion matrix and the per-class bars


def test_the_appendix_defines_every_term_shown(full_html: str) -> None:
    appendix = full_html[full_html.index('id="appendix"') :]
    for name in ("MACs and FLOPs", "Decimation", "Update-to-weight ratio", "Health timeline",
                 "Gradient norm", "Per-class metrics"):  # fmt: skip
        assert f"<dt>{name}</dt>" in appendix
    assert "<dt>Relative change</dt>" not in appendix  # no checkpoint diff in this report


def test_every_term_a_section_uses_has_a_definition() -> None:
    sources = "".join(
        Path(torchscope.__file__).parent.joinpath("render", f"report_{m}.py").read_text()
        for m in ("overview", "model", "training", "evaluation", "profile")
    )
    used = set(re.findall(r"page\.use\(([^)]*)\)", sources))
    terms = {t for call in used for t in re.findall(r'"([a-z_0-9]+)"', call)}
    assert terms and all(definition(t) in DEFINITIONS for t in terms), terms
    for key in ("loss", "accuracy", "macro_f1", "weighted_recall", "top5_accuracy", "roc_auc",
                "ece", "r2", "mse", "average_precision", "hamming_loss"):  # fmt: skip
        assert definition(f"eval_{key}") is not None, key


# --- safety and determinism ----------------------------------------------------------------


def test_two_builds_are_byte_identical(run_dir: Path, tmp_path: Path) -> None:
    def build(path: Path) -> bytes:
        torch.manual_seed(0)
        report = torchscope.report(MLP(), input_size=(2, 20), run=run_dir, spectral=True)
        return report.save(path).read_bytes()

    assert build(tmp_path / "a.html") == build(tmp_path / "b.html")


def test_the_policy_allows_no_request_and_only_the_page_scripts(full_html: str) -> None:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', full_html)
    assert policy is not None
    rules = dict(r.strip().split(" ", 1) for r in unescape(policy.group(1)).split(";"))
    assert rules["default-src"] == "'none'" and "unsafe" not in rules["script-src"]
    code = re.findall(r"<script>(.*?)</script>", full_html, re.S)
    assert len(code) == 1
    digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in rules["script-src"]
    assert "http://" not in full_html.replace("http://www.w3.org/", "")
    assert "https://" not in full_html


def test_hostile_names_are_escaped_everywhere(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", hostile=True)
    r = torchscope.report(HostileNet(), inputs=torch.randn(1, 4), run=run, title=SCRIPT)
    html = r.to_html()
    # the only script elements are the page's own: the data, the viewer page, the code
    assert len(re.findall(r"<script\b", html, re.I)) == 3
    assert "<img" not in html and SCRIPT not in html
    assert "&lt;script&gt;top[&#39;__pwned&#39;]=1&lt;/script&gt;" in html
    for element in ("ts-report-data", "ts-viewer-page"):
        text = script(html, element)
        assert "<" not in text and ">" not in text
    data = json.loads(script(html, "ts-report-data"))
    names = json.dumps(data)
    assert "acc<script>" in names and IMG in names  # intact as data, shown as text by the script
    viewer = json.loads(script(html, "ts-viewer-page"))
    assert viewer.count("<script>") == 1 and "&lt;script&gt;" not in viewer  # its data is JSON


def test_embedded_json_cannot_end_its_element() -> None:
    text = embed_json({"k": "</script><script>alert(1)</script>", "z": "\u2028&"})
    assert "<" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"k": "</script><script>alert(1)</script>", "z": "\u2028&"}
    assert text.index('"k"') < text.index('"z"')


def test_save_writes_html_only(tmp_path: Path) -> None:
    r = torchscope.report(MLP(), input_size=(2, 20), spectral=False, title="t")
    with pytest.raises(ValueError, match="HTML file"):
        r.save(tmp_path / "report.pdf")
    assert r.save(tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert r.to_dict()["sections"] == r.section_ids()
    text = str(r)
    assert "Report: t" in text and "Architecture" in text and "tensors" in text
    assert r._repr_html_().startswith("<iframe srcdoc=")


# --- evaluation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation() -> Any:
    torch.manual_seed(0)
    x, y = torch.randn(300, 20), torch.randint(0, 10, (300,))
    batches = [(x[i : i + 50], y[i : i + 50]) for i in range(0, 300, 50)]
    return torchscope.evaluate(
        MLP(), batches, loss_fn=torch.nn.CrossEntropyLoss(), labels=[f"c{i}" for i in range(10)],
        progress=False,
    )  # fmt: skip


def test_an_evaluation_gives_its_tables_and_figures(evaluation: Any, tmp_path: Path) -> None:
    from torchscope.render.report_overview import fmt_value

    r = torchscope.report(evaluation=evaluation)
    assert r.section_ids() == ["summary", "evaluation", "environment", "appendix"]
    page = r.to_html()
    section = page[page.index('id="evaluation"') : page.index('id="environment"')]
    shown = {"accuracy": "accuracy", "macro_f1": "macro F1", "top5_accuracy": "top-5 accuracy",
             "ece": "expected calibration error"}  # fmt: skip
    for key, label in shown.items():
        assert (
            f'<td>{label}</td><td class="num">{fmt_value(evaluation.metrics[key])}</td>' in section
        )
    assert section.count("<svg") == len(evaluation.figures()) == 5
    first = evaluation.classes[0]
    assert f"<td>{first.label}</td>" in section and f">{first.support}</td>" in section
    appendix = page[page.index('id="appendix"') :]
    for name in ("Expected calibration error (ECE)", "Top-k accuracy", "ROC AUC", "Accuracy",
                 "Macro, weighted and micro averages", "Per-class metrics"):  # fmt: skip
        assert f"<dt>{name}</dt>" in appendix
    cards = page[page.index('id="summary"') : page.index('id="evaluation"')]
    assert f">{fmt_value(evaluation.metrics['accuracy'])}</div>" in cards
    saved = tmp_path / "evaluation.json"
    saved.write_text(evaluation.to_json())
    assert torchscope.report(evaluation=saved).to_html() == page


def test_the_run_copy_of_the_evaluated_split_is_not_shown_twice(
    evaluation: Any, run_dir: Path
) -> None:
    val = torchscope.evaluate(
        MLP(), [(torch.randn(40, 20), torch.randint(0, 2, (40,)))], progress=False, split="val"
    )
    page = torchscope.report(run=run_dir, evaluation=val).to_html()
    section = page[page.index('id="evaluation"') : page.index('id="environment"')]
    assert "Stored in the run" not in section  # the run's only split is "val", shown in full
    page = torchscope.report(run=run_dir, evaluation=evaluation).to_html()  # split "test"
    section = page[page.index('id="evaluation"') : page.index('id="environment"')]
    assert "Stored in the run: val" in section


def test_report_command_writes_the_page(tmp_path: Path, evaluation: Any, run_dir: Path) -> None:
    from torchscope.cli import main

    saved = tmp_path / "evaluation.json"
    saved.write_text(evaluation.to_json())
    out = tmp_path / "r.html"
    argv = ["report", "tests.models:MLP", "--input-size", "2,20", "--run", str(run_dir),
            "--evaluation", str(saved), "--no-spectral", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    page = out.read_text(encoding="utf-8")
    for section in ("summary", "architecture", "parameters", "training", "evaluation"):
        assert f'<section id="{section}"' in page
    again = tmp_path / "again.html"
    assert main([*argv[:-1], str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()  # the spec's random weights are seeded
