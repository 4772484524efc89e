"""``torchscope graph``, run in-process."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from torchscope.analysis.profile import Profile
from torchscope.cli import main
from torchscope.model.graph import ModelGraph

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
STACK = ["tests.models:Stack", "--input-size", "2,16"]


def _nodes(dot: str) -> list[str]:
    """Node ids declared in DOT text (``"m0" [label=…``)."""
    return re.findall(r'^\s*"(\w+)" \[label=', dot, flags=re.MULTILINE)


def test_dot_on_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", *STACK, "--depth", "2"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph torchscope {") and "rankdir=TB" in dot
    assert _nodes(dot) == ["input0", "m0", "m1", "output0"]
    assert "<B>layers.0-4</B>" in dot and "<B>×5</B>" in dot and 'label=" 2×16 "' in dot


def test_no_roll_show_trivial_direction(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["graph", *STACK, "--depth", "2", "--no-roll", "--direction", "LR", "--show-trivial"]
    assert main(argv) == 0
    dot = capsys.readouterr().out
    assert "rankdir=LR" in dot and "×5" not in dot
    labels = re.findall(r"<B>(layers\.\d)</B>", dot)
    assert labels == [f"layers.{i}" for i in range(6)]


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG"),
                                               (".pdf", b"%PDF-")])  # fmt: skip
def test_static_formats(
    tmp_path: Path, suffix: str, magic: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"stack{suffix}"
    assert main(["graph", *STACK, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    assert f"wrote {out}" in capsys.readouterr().err


def test_json_round_trip_and_redraw_from_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "stack.json"
    assert main(["graph", *STACK, "-o", str(saved)]) == 0
    graph = ModelGraph.from_json(saved.read_text())
    assert graph.model_type == "Stack" and graph.total_params == 5 * 272 + 68
    assert main(["graph", *STACK, "--depth", "3"]) == 0
    from_model = capsys.readouterr().out
    assert main(["graph", str(saved), "--depth", "3"]) == 0
    assert capsys.readouterr().out == from_model


def test_color_by_a_json_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapping = tmp_path / "scores.json"
    mapping.write_text(json.dumps({f"layers.{i}": i / 10 for i in range(6)}))
    assert main(["graph", *STACK, "--depth", "2", "--color-by", str(mapping)]) == 0
    dot = capsys.readouterr().out
    assert "legend [" in dot and "<B>value</B>" in dot
    legend = dot[dot.index("legend [") :]
    assert ">0.2</FONT>" in legend and ">0.5</FONT>" in legend  # mean of 0…0.4, then 0.5
    assert "value 0.2</FONT>" in dot and "value 0.5</FONT>" in dot


def test_color_by_time_profiles_the_model_first(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import torchscope._api

    profiles: list[Profile] = []

    def keep(*args: Any, **kwargs: Any) -> Profile:
        profiles.append(real(*args, **kwargs))
        return profiles[-1]

    real = torchscope._api.profile
    monkeypatch.setattr(torchscope._api, "profile", keep)
    argv = ["graph", "tests.models:MLP", "--input-size", "4,20", "--depth", "1"]
    assert main([*argv, "--color-by", "time"]) == 0
    captured = capsys.readouterr()
    assert "profiling tests.models:MLP on cpu to colour by time: 1 warm-up and 3" in captured.err
    (profile,) = profiles
    assert profile.repeat == 3 and profile.device == "cpu"
    dot = captured.out
    assert "<B>time (ms)</B>" in dot  # the legend says what the colours are, in ms
    for name in ("fc1", "act", "fc2"):
        ms = profile.module(name).total_ms
        assert f"time (ms) {ms:.3g}</FONT>" in dot, name
    out = tmp_path / "mlp.html"
    assert main([*argv, "--color-by", "time", "-o", str(out)]) == 0
    assert '"label":"time (ms)"' in out.read_text(encoding="utf-8").replace('\\"', '"')


def test_color_by_time_needs_a_model_that_can_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["graph", *STACK, "--color-by", "time", "--device", "meta"]
    assert main(argv) == 2
    assert "cannot run a model on meta" in capsys.readouterr().err
    saved = tmp_path / "stack.json"
    assert main(["graph", *STACK, "-o", str(saved)]) == 0
    assert main(["graph", str(saved), "--color-by", "time"]) == 2
    assert "give a model SPEC, not a graph" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--color-by", "flops"], "--color-by takes params, macs, activation"),
        (["-o", "out.gif"], "cannot tell the format"),
    ],
)
def test_user_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent))
    assert main(["graph", *STACK, *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_graphviz_is_a_clear_error_but_html_and_dot_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("torchscope.render.dot.shutil.which", lambda name: None)
    assert main(["graph", *STACK, "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert not (tmp_path / "x.png").exists()
    assert main(["graph", *STACK, "-o", str(tmp_path / "x.dot")]) == 0
    pytest.importorskip("torchscope.render.graph_html")
    assert main(["graph", *STACK, "-o", str(tmp_path / "x.html")]) == 0
    assert "layers.0" in (tmp_path / "x.html").read_text()


def test_failing_forward_draws_what_was_captured(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "tests.models:BrokenMiddle", "--input-size", "2,8", "--depth", "1"]) == 1
    captured = capsys.readouterr()
    assert "module 'middle.1' (Linear)" in captured.err
    assert "<B>first</B>" in captured.out


@needs_dot
@pytest.mark.slow
def test_llama_3_70b_shape_svg_rolls_80_layers(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    out = tmp_path / "llama.svg"
    argv = ["graph", "hf:LlamaForCausalLM", "--device", "meta", "-o", str(out), "--config",
            "hidden_size=8192", "intermediate_size=28672", "num_hidden_layers=80",
            "num_attention_heads=64", "num_key_value_heads=8", "vocab_size=128256"]  # fmt: skip
    assert main(argv) == 0
    svg = out.read_text()
    assert ">layers.0&#45;79<" in svg or ">layers.0-79<" in svg
    assert "×80" in svg and "LlamaDecoderLayer" in svg
    assert "70.55 G params" in svg and "each: 855.65 M params · 109.79 G MACs" in svg
    assert "all 80: 68.45 G params · 8.78 T MACs" in svg
    assert svg.count('class="node"') < 25  # one decoder layer drawn, not 80


@pytest.mark.parametrize(
    ("graph_json", "color_json", "message"),
    [
        ("[1, 2]", None, "not a ModelGraph: expected a JSON object, got a list"),
        ("[" * 50_000 + "]" * 50_000, None, "nested too deeply"),
        (None, "[" * 50_000 + "]" * 50_000, "JSON nested too deeply"),
        (None, '{"layers.0": "high"}', "expected a JSON object of module name → finite number"),
        ("EDGE", None, "is not a node of the graph"),
    ],
)
def test_malformed_json_inputs_are_one_line_errors(
    graph_json: str | None, color_json: str | None, message: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    spec = STACK
    if graph_json is not None:
        path = tmp_path / "graph.json"
        if graph_json == "EDGE":  # an edge end carrying DOT and rich markup
            assert main(["graph", *STACK, "-o", str(path)]) == 0
            data = json.loads(path.read_text())
            data["edges"][0]["dst"] = 'op0 [URL="javascript:alert(1)"] [/] [red]x'
            graph_json = json.dumps(data)
        path.write_text(graph_json)
        spec = [str(path)]
    extra = []
    if color_json is not None:
        (tmp_path / "colors.json").write_text(color_json)
        extra = ["--color-by", str(tmp_path / "colors.json")]
    capsys.readouterr()
    assert main(["graph", *spec, *extra]) == 2
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())  # the console wraps long lines
    assert message in err and "Traceback" not in err and captured.out == ""
