"""Bad command lines: each ends with one ``error:`` line on stderr and a non-zero exit.

The corpus runs every command that exists on unknown flags, bad numbers, bad specs, bad
devices and dtypes, missing files, directories instead of files, huge and negative sizes,
empty strings and unicode; the named cases come from issues 10 and 11.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import torchscope
from tests.models import MLP
from torchscope.cli import main
from torchscope.render.safe_text import visible
from torchscope.store.writer import RunWriter

ROOT = Path(__file__).resolve().parent.parent
NESTED = 100_000  # deeper than Python's recursion limit

FACTORIES = """
import sys
import torch

def type_error():
    raise TypeError("wrong type")

def key_error():
    return {}["missing"]

def runtime_error():
    raise RuntimeError("boom")

def exits():
    sys.exit(0)

def not_a_module():
    return 42

def markup():
    raise ValueError("[red]FAKE OK[/red] [/] \\x1b]0;owned\\x07")

class NeedsWidth(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = torch.nn.Linear(width, width)

    def forward(self, x):
        return self.fc(x)
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths the corpus refers to as {name}: good and bad files of every kind."""
    tmp = tmp_path_factory.mktemp("corpus")
    save_file(MLP().state_dict(), str(tmp / "mlp.safetensors"))
    with RunWriter(tmp / "run") as writer:
        for step in range(3):
            writer.log_scalars(step, {"loss": 1.0 / (step + 1)})
    (tmp / "junkrun").mkdir()
    (tmp / "junkrun" / "run.sqlite").write_text("not a database")
    (tmp / "factories.py").write_text(FACTORIES)
    (tmp / "syntax.py").write_text("def broken(:\n")
    (tmp / "raises.py").write_text("raise KeyError('at import')\n")
    (tmp / "garbage.safetensors").write_bytes(b"\x00garbage" * 10)
    (tmp / "empty.pt").write_bytes(b"")
    (tmp / "notes.txt").write_text("hello")
    (tmp / "folder").mkdir()
    (tmp / "folder.dot").mkdir()
    (tmp / "not.json").write_text("{not json")
    (tmp / "list.json").write_text("[1, 2, 3]")
    (tmp / "nan.json").write_text('{"fc1": NaN}')
    (tmp / "bool.json").write_text('{"fc1": true}')
    (tmp / "deep.json").write_text("[" * NESTED + "]" * NESTED)
    (tmp / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp / "graph_keys.json").write_text(json.dumps({"schema_version": 1}))
    (tmp / "graph_list.json").write_text(json.dumps([{"modules": []}]))
    (tmp / "graph_deep.json").write_text('{"modules": ' + "[" * NESTED + "]" * NESTED + "}")
    names = {p.name.replace(".", "_"): str(p) for p in tmp.iterdir()}
    return {**names, "tmp": str(tmp)}


MLP_IN = ["tests.models:MLP", "--input-size", "2,20"]
F = "{factories_py}"

CORPUS: list[list[str]] = [
    # the command itself
    ["nosuchcommand"],
    [""],
    ["sümmary"],
    ["--bogus"],
    ["summary"],
    ["graph"],
    ["params"],
    ["diff", "{mlp_safetensors}"],
    ["plot"],
    ["runs"],
    ["demo", "extra"],
    ["demo", "--bogus"],
    # summary: options and numbers
    ["summary", *MLP_IN, "--bogus"],
    ["summary", "tests.models:MLP", "--input-size", ""],
    ["summary", "tests.models:MLP", "--input-size", "abc"],
    ["summary", "tests.models:MLP", "--input-size", "1,,x"],
    ["summary", "tests.models:MLP", "--input-size", "1,20,"],
    ["summary", "tests.models:MLP", "--input-size", "0,20"],
    ["summary", "tests.models:MLP", "--input-size=-1,20"],
    ["summary", "tests.models:MLP", "--input-size", "1.5,20"],
    ["summary", "tests.models:MLP", "--input-size", "99999999999999999999999,8"],
    ["summary", "tests.models:MLP", "--input-size", "100000,100000"],
    ["summary", "tests.models:MLP", "--input-size", ",".join(["1"] * 40)],
    ["summary", "tests.models:MLP", "--input-size", "1,20\u202e"],
    ["summary", "tests.models:MLP", "--input-size", "9" * 5000],
    ["summary", *MLP_IN, "--depth", "-1"],
    ["summary", *MLP_IN, "--depth", "deep"],
    ["summary", *MLP_IN, "--width", "0"],
    ["summary", *MLP_IN, "--width", "1000000000"],
    ["summary", *MLP_IN, "--seq-len", "5"],
    ["summary", *MLP_IN, "--batch-size", "2"],
    ["summary", "hf:GPT2LMHeadModel", "--seq-len", "-5"],
    ["summary", "hf:GPT2LMHeadModel", "--seq-len", "0"],
    ["summary", "hf:GPT2LMHeadModel", "--seq-len", "abc"],
    ["summary", "hf:GPT2LMHeadModel", "--seq-len", "99999999999999999999"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--seq-len", "4096"],
    ["summary", "hf:GPT2LMHeadModel", "--seq-len", "4096"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--batch-size", "0"],
    # dtypes
    ["summary", *MLP_IN, "--dtype", "int64"],
    ["summary", *MLP_IN, "--dtype", "bool"],
    ["summary", *MLP_IN, "--dtype", "bogus"],
    ["summary", *MLP_IN, "--dtype", ""],
    ["summary", *MLP_IN, "--dtype", "manual_seed"],
    ["summary", *MLP_IN, "--input-dtype", "bogus"],
    ["summary", *MLP_IN, "--input-dtype", "float8_e4m3fn"],
    ["summary", *MLP_IN, "--input-dtype", "int64", "--input-dtype", "int64"],
    ["summary", *MLP_IN, "--input-dtype", "float64", "--dtype", "bfloat16"],
    ["summary", "tests.models:MLP", "--input-dtype", "int64"],
    ["summary", *MLP_IN, "--input-range", "5,1"],
    ["summary", *MLP_IN, "--input-range", "nan,1"],
    ["summary", *MLP_IN, "--input-range", "1"],
    ["summary", *MLP_IN, "--input-range", "a,b"],
    ["summary", *MLP_IN, "--input-range", "0,1e400"],
    ["summary", *MLP_IN, "--input-dtype", "int64", "--input-range", "0.5,2"],
    ["summary", *MLP_IN, "--input-dtype", "uint8", "--input-range", "0,300"],
    ["summary", *MLP_IN, "--input-dtype", "float16", "--input-range", "0,1e10"],
    ["summary", *MLP_IN, "--eval", "--train"],
    # devices
    ["summary", *MLP_IN, "--device", "nowhere"],
    ["summary", *MLP_IN, "--device", ""],
    ["summary", *MLP_IN, "--device", "cuda:99"],
    ["summary", *MLP_IN, "--device", "cpu:x"],
    ["summary", *MLP_IN, "--device", "quantum"],
    ["params", "tests.models:MLP", "--device", "nowhere"],
    ["params", "tests.models:MLP", "--device", "meta"],
    # specs
    ["summary", ""],
    ["summary", ":"],
    ["summary", "nowhere"],
    ["summary", "a:b:c"],
    ["summary", "tests.models:"],
    ["summary", ":MLP"],
    ["summary", "tests.models:Missing"],
    ["summary", "tests.models:MLP.nothing"],
    ["summary", "no_such_module_xyz:Net"],
    ["summary", "..relative:Net"],
    ["summary", "os:getcwd"],
    ["summary", "os:sep"],
    ["summary", "tests.models:MLP"],
    ["summary", "torch.nn:Linear", "--input-size", "1,4"],
    ["summary", "torch.nn:Linear", "--init", "in_features=4", "--input-size", "1,4"],
    ["summary", "torch.nn:Linear", "--init", "in_featurs=4", "out_features=2"],
    ["summary", "torch.nn:Linear", "--init", "1x=4"],
    ["summary", "torch.nn:Linear", "--init", "noequals"],
    ["summary", "torch.nn:Linear", "--init", "in_features='four'", "out_features=2"],
    ["summary", "{tmp}/missing.py:Net", "--input-size", "1,4"],
    ["summary", "{folder}.py:Net"],
    ["summary", "{syntax_py}:broken"],
    ["summary", "{raises_py}:Net"],
    ["summary", f"{F}:type_error", "--input-size", "1,4"],
    ["summary", f"{F}:key_error", "--input-size", "1,4"],
    ["summary", f"{F}:runtime_error", "--input-size", "1,4"],
    ["summary", f"{F}:exits", "--input-size", "1,4"],
    ["summary", f"{F}:not_a_module", "--input-size", "1,4"],
    ["summary", f"{F}:markup", "--input-size", "1,4"],
    ["summary", f"{F}:NeedsWidth", "--input-size", "1,4"],
    ["summary", f"{F}:NeedsWidth", "--init", "width=4", "--input-size", "1,5"],
    ["summary", "tests.models:\x1b]0;owned\x07"],
    ["summary", "模型:网络"],
    ["summary", "tests.models:[/]", "--input-size", "1,4"],
    ["params", "[red]x[/red].safetensors"],
    ["summary", "tests.models:MLP\x00"],
    ["summary", "a" * 10_000 + ":Net"],
    ["summary", "hf:NoSuchModel"],
    ["summary", "hf:"],
    ["summary", "hf:../x"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--config", "n_layerz=2"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--config", "n_layer"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--config", "=3"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--config", "n_layer='x'"],
    ["summary", "hf:GPT2LMHeadModel", "--device", "meta", "--init", "n_layer=1"],
    ["summary", *MLP_IN, "--config", "n_layer=1"],
    # graph
    ["graph", *MLP_IN, "-o", "{tmp}/x.gif"],
    ["graph", *MLP_IN, "-o", "{folder_dot}"],
    ["graph", *MLP_IN, "--color-by", "flops"],
    ["graph", *MLP_IN, "--color-by", "{tmp}/missing.json"],
    ["graph", *MLP_IN, "--color-by", "{not_json}"],
    ["graph", *MLP_IN, "--color-by", "{list_json}"],
    ["graph", *MLP_IN, "--color-by", "{nan_json}"],
    ["graph", *MLP_IN, "--color-by", "{bool_json}"],
    ["graph", *MLP_IN, "--color-by", "{deep_json}"],
    ["graph", *MLP_IN, "--color-by", "{binary_json}"],
    ["graph", *MLP_IN, "--direction", "XY"],
    ["graph", *MLP_IN, "--depth", "-3"],
    ["graph", *MLP_IN, "--hide-trivial", "--show-trivial"],
    ["graph", "{graph_keys_json}"],
    ["graph", "{graph_list_json}"],
    ["graph", "{graph_deep_json}"],
    ["graph", "{not_json}"],
    # params and diff
    ["params", "{tmp}/missing.safetensors"],
    ["params", "{garbage_safetensors}"],
    ["params", "{empty_pt}"],
    ["params", "{folder}"],
    ["params", "{notes_txt}"],
    ["params", ""],
    ["params", " "],
    ["params", "torch.nn:Linear"],
    ["params", "{mlp_safetensors}", "--near-zero", "-1"],
    ["params", "{mlp_safetensors}", "--near-zero", "nan"],
    ["params", "{mlp_safetensors}", "--rows", "-1"],
    ["params", "{mlp_safetensors}", "--by", "layer"],
    ["params", "{mlp_safetensors}", "--width", "5"],
    ["params", "{mlp_safetensors}", "--config", "a=1"],
    ["params", "{mlp_safetensors}", "-o", "{tmp}/figs", "--heatmap", "nosuch"],
    ["params", "{mlp_safetensors}", "-o", "{notes_txt}"],
    ["diff", "{mlp_safetensors}", "{tmp}/missing.safetensors"],
    ["diff", "{mlp_safetensors}", "{mlp_safetensors}", "--rows", "many"],
    ["diff", "hf:NoSuchModel", "{mlp_safetensors}"],
    ["diff", "{garbage_safetensors}", "{mlp_safetensors}"],
    # plot and runs
    ["plot", "{tmp}/nowhere"],
    ["plot", "{junkrun}"],
    ["plot", "{mlp_safetensors}"],
    ["plot", "{run}", "--format", "gif"],
    ["plot", "{run}", "--dpi", "0"],
    ["plot", "{run}", "--dpi", "abc"],
    ["plot", "{run}", "--dpi", "1000000000"],
    ["plot", "{run}", "-o", "{notes_txt}"],
    ["plot", ""],
    ["runs", "{tmp}/nowhere"],
    ["runs", "{junkrun}"],
    ["runs", "{mlp_safetensors}"],
    ["runs", "{run}", "--width", "0"],
    ["runs", "{run}", "--bogus"],
    ["runs", ""],
    ["diff", "", "{mlp_safetensors}"],
    # profile
    ["profile"],
    ["profile", *MLP_IN, "--bogus"],
    ["profile", *MLP_IN, "--repeat", "0"],
    ["profile", *MLP_IN, "--warmup", "abc"],
    ["profile", *MLP_IN, "--peak-tflops", "-1"],
    ["profile", *MLP_IN, "-o", "{notes_txt}"],
    ["profile", *MLP_IN, "--device", "meta"],
    ["profile", *MLP_IN, "--graph", ""],
    # serve
    ["serve", "{tmp}/nowhere"],
    ["serve", ""],
    ["serve", "{run}", "--port", "70000"],
    ["serve", "{run}", "--port", "abc"],
    ["serve", "{run}", "--stale-after", "0"],
    ["serve", "{run}", "--bogus"],
    # demo
    ["demo", "--epochs", "0"],
    ["demo", "--epochs", "-1"],
    ["demo", "--epochs", "abc"],
    ["demo", "--epochs", "1000000000000"],
    ["demo", "--steps", "10"],
    ["demo", "--width", "0"],
    ["demo", "--summary-only", "--width", "x"],
    # report
    ["report"],
    ["report", "{tmp}/nowhere.safetensors"],
    ["report", "--run", "{tmp}/nowhere"],
    ["report", "--run", "{junkrun}"],
    ["report", "--run", "{run}", "-o", "{tmp}/report.txt"],
    ["report", "--run", "{run}", "-o", ""],
    [
        "report",
        "{mlp_safetensors}",
        "--checkpoint",
        "{mlp_safetensors}",
        "--checkpoint",
        "{mlp_safetensors}",
    ],
    ["report", "tests.models:MLP", "--input-size", "abc"],
    ["report", "no_such_module_xyz:Net"],
    ["report", "--run", "{run}", "--bogus"],
]


def _fill(argv: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) if "{" in a else a for a in argv]


def _assert_one_line_error(err: str, out: str = "") -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and len(lines[0]) > len("error: ") + 5, err
    assert "Traceback" not in err + out
    assert visible(lines[0]) == lines[0], repr(lines[0])  # no terminal escapes, no bidi tricks


@pytest.mark.parametrize("argv", CORPUS, ids=[" ".join(a)[:60] for a in CORPUS])
def test_bad_command_line_is_one_error_line(
    argv: list[str],
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(files["tmp"])
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(_fill(argv, files))
    captured = capsys.readouterr()
    assert code in (1, 2), captured.err
    _assert_one_line_error(captured.err, captured.out)


def test_the_corpus_is_large_and_covers_every_command() -> None:
    from torchscope.commands import command_names

    assert len(CORPUS) >= 100
    assert set(command_names()) <= {argv[0] for argv in CORPUS}


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(torchscope.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "torchscope.cli", *argv],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_real_exit_codes_from_a_process() -> None:
    usage = _run("summary", "tests.models:MLP", "--input-size", "2,20", "--device", "nowhere")
    assert usage.returncode == 2 and usage.stdout == ""
    _assert_one_line_error(usage.stderr)
    assert "unknown device 'nowhere'" in usage.stderr
    spec = _run("summary", "torch.nn:Linear", "--input-size", "1,4")
    assert spec.returncode == 2
    _assert_one_line_error(spec.stderr)
    failed = _run("summary", "tests.models:BrokenMiddle", "--input-size", "2,8")
    assert failed.returncode == 1 and "first (Linear)" in failed.stdout
    _assert_one_line_error(failed.stderr)
    debug = _run("summary", "torch.nn:Linear", "--input-size", "1,4", "--debug")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1].startswith("error: torch.nn:Linear needs")
