"""Hostile names through every text and HTML output (issue 11 item 7).

Tensor, module, metric and run names come from files someone else made. In a terminal they
must never be rich markup (``[/]`` crashed with MarkupError, ``[red]…[/red]`` printed red,
``[link=…]`` made a hyperlink) nor control sequences (an OSC sequence in a metric name set
the terminal title); in HTML they must be escaped. Each output here is rendered to a colour
terminal, whose only escape sequences may be the SGR colours rich writes itself.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console
from torch import nn

import torchscope
from torchscope._display import html_of, plain_text
from torchscope.cli import main
from torchscope.store import RunReader, RunWriter

HOSTILE = [
    "[/]",
    "[red]FAKE OK[/red]",
    "[link=https://evil.example/]click[/link]",
    "\x1b]0;owned\x07",
    "\x1b[2J\x1b[31mred",
    "rtl\u202eexe.txt",
    "<script>alert(1)</script>",
    ":smile:",
    "a\nb\rc\td\x9b",
]
# nn.Module names may not hold a dot; a checkpoint's tensor names may hold anything.
MODULE_NAMES = [n for n in HOSTILE if "." not in n]
TENSOR_NAMES = [*HOSTILE, "lone\ud800surrogate"]

_SGR = re.compile(r"\x1b\[[0-9;]*m")
# What may not reach a terminal or a page (a newline between lines aside), and what a name
# shows as an escape instead (its own newlines included).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal(value: Any, width: int = 120) -> str:
    """What a colour terminal receives when ``value`` is printed."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system="truecolor", force_terminal=True)
    console.print(value)
    return out.getvalue()


def assert_safe_terminal(out: str) -> None:
    """Only rich's own colour codes; every hostile name shown as literal, visible text."""
    rest = _SGR.sub("", out)
    assert not _CONTROL.findall(rest), sorted(set(_CONTROL.findall(rest)))


def shown(name: str) -> str:
    """A name as it must appear: control characters as ``\\xNN``/``\\uNNNN``, nothing else."""
    return _ESCAPED.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", name
    )


def assert_shows_names_as_text(plain: str, names: list[str]) -> None:
    """Every name is in the text as written (markup not read, controls made visible)."""
    missing = [name for name in names if shown(name) not in plain]
    assert not missing, missing
    assert "\\x1b]0;owned\\x07" in plain and "😄" not in plain


def assert_safe_html(html: str) -> None:
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not _CONTROL.findall(html)
    assert "\\x1b]0;owned\\x07" in html


def hostile_model() -> nn.Module:
    model = nn.Sequential()
    for name in MODULE_NAMES:
        model.add_module(name, nn.Linear(4, 4))
    return model


def hostile_state(scale: float = 1.0) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {name: scale * torch.randn(4, 3) for name in TENSOR_NAMES}


def _check_value(value: Any, names: list[str], width: int = 120) -> None:
    assert_safe_terminal(terminal(value, width))
    assert_shows_names_as_text(plain_text(value, 300), names)  # wide: no name shortened
    assert_safe_html(html_of(value))


@pytest.mark.parametrize("width", [60, 120])
def test_summary(width: int) -> None:
    _check_value(torchscope.summary(hostile_model(), input_size=(1, 4)), MODULE_NAMES, width)


@pytest.mark.parametrize("spectral", [False, True])
@pytest.mark.parametrize("width", [60, 120])
def test_params_report(width: int, spectral: bool) -> None:
    state = hostile_state()
    state["[red]FAKE OK[/red]"][0] = 0.0  # a health flag that names the tensor
    report = torchscope.inspect_params(state, spectral=spectral)
    assert any(f.tensor == "[red]FAKE OK[/red]" for f in report.flags)
    if spectral:  # every 4×3 weight is skipped, and the skip line names it
        assert report.spectral is not None and len(report.spectral.skipped) == len(state)
    _check_value(report, TENSOR_NAMES, width)


def test_params_diff() -> None:
    a, b = hostile_state(), hostile_state(2.0)
    b["added \x1b]0;title\x07 [/]"] = torch.zeros(2)
    del b["[/]"]
    changes = torchscope.diff(a, b)
    assert changes.added and changes.removed
    _check_value(changes, [n for n in TENSOR_NAMES if n != "[/]"] + ["[/]"])


_RAW_TEXT = {  # table → columns holding names as plain text
    "series": ("family", "scope", "name"),
    "histograms": ("kind", "name"),
    "confusion": ("split",),
    "events": ("kind",),
}
_JSON_TEXT = {"meta": ("value",), "events": ("payload",)}  # columns holding JSON


def _placeholder(i: int) -> str:
    return f"@@{i}@@"


def write_hostile_run(path: Path) -> None:
    """A run whose every name is hostile. The writer refuses control characters at the call
    (issue 11), so it writes placeholders and SQL plants the names, as another tool could."""
    names = [*HOSTILE, "[red]FAKE OK[/red] \x1b]0;owned\x07", "[/] \x1b[2J", "grad\x1b]0;x\x07"]
    n = len(HOSTILE)
    ph = _placeholder
    with RunWriter(path, run_name=ph(n)) as w:
        for step in range(3):
            w.log_scalars(step, {ph(i): float(step) for i in range(n)})
            w.log_scalars(step, {"loss": 1.0}, split=ph(n + 1))
            w.log_layer_stats(step, ph(n + 2), {ph(i): {"norm": 1.0} for i in range(n)})
        w.log_histogram(1, ph(2), ph(5), [0.0, 1.0], [2.0])
        w.set_meta("config", {ph(i): ph(i) for i in range(n)})
        w.log_event(2, "nonfinite", {"module": ph(7) + ph(0) + ph(3), "phase": "x"})
        w.log_event(2, ph(6), {"note": ph(4)})
    conn = sqlite3.connect(path / "run.sqlite")
    with conn:
        for i in reversed(range(len(names))):
            for table, columns in _RAW_TEXT.items():
                for column in columns:
                    conn.execute(
                        f"UPDATE {table} SET {column} = REPLACE({column}, ?, ?)", (ph(i), names[i])
                    )
            for table, columns in _JSON_TEXT.items():
                for column in columns:
                    conn.execute(
                        f"UPDATE {table} SET {column} = REPLACE({column}, ?, ?)",
                        (ph(i), json.dumps(names[i])[1:-1]),
                    )
    conn.close()


def test_run_overview(tmp_path: Path) -> None:
    write_hostile_run(tmp_path / "run")
    with RunReader(tmp_path / "run") as reader:
        _check_value(reader, HOSTILE)
        _check_value(reader, HOSTILE, width=70)


def test_graph_tree_and_one_line_str() -> None:
    view = torchscope.draw(hostile_model(), input_size=(1, 4))
    assert_safe_terminal(terminal(view))
    assert_shows_names_as_text(plain_text(view), MODULE_NAMES)
    assert not _CONTROL.findall(str(view)) and not _CONTROL.findall(repr(view))


def test_graph_dot_has_no_control_characters() -> None:
    dot = torchscope.draw(hostile_model(), input_size=(1, 4)).to_dot()
    assert not _CONTROL.findall(dot.replace("\n", ""))


_MODEL_FILE = """
from torch import nn

NAMES = {names!r}


def Hostile():
    model = nn.Sequential()
    for name in NAMES:
        model.add_module(name, nn.Linear(4, 4))
    return model
"""


def test_cli_runs_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_hostile_run(tmp_path / "run")
    assert main(["runs", str(tmp_path / "run"), "--width", "100"]) == 0
    out = capsys.readouterr().out
    assert_safe_terminal(out)
    assert "[red]FAKE OK[/red]" in out and "\\x1b]0;owned\\x07" in out
    spec = tmp_path / "hostile_model.py"
    spec.write_text(textwrap.dedent(_MODEL_FILE.format(names=MODULE_NAMES)))
    assert main(["summary", f"{spec}:Hostile", "--input-size", "1,4", "--width", "300"]) == 0
    out = capsys.readouterr().out
    assert_safe_terminal(out)
    assert_shows_names_as_text(out, MODULE_NAMES)
