"""Inputs from the command line (issue 10: honest comparisons and inputs; issue 11 items 8, 9).

Each test is built from a case a user hit: integer inputs, constructor arguments, train and
eval mode, a mistyped ``--config`` key, a sequence longer than the model's positions, and
the options that used to end in a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from torchscope.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent

TWO_INPUTS = """
import torch

class Weighted(torch.nn.Module):
    def __init__(self, vocab=10, dim=4):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, ids, weights):
        return self.drop(self.embed(ids) * weights.unsqueeze(-1))
"""


@pytest.fixture
def weighted(tmp_path: Path) -> str:
    (tmp_path / "weighted.py").write_text(TWO_INPUTS)
    return f"{tmp_path / 'weighted.py'}:Weighted"


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def test_constructor_arguments_from_init(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["summary", "torch.nn:Linear", "--init", "in_features=784", "out_features=128",
            "--input-size", "1,784", "--json"]  # fmt: skip
    assert main(argv) == 0
    d = _json(capsys)
    assert d["total_params"] == 784 * 128 + 128 and d["macs"] == 784 * 128


def test_init_values_are_python_literals(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["summary", "torch.nn:Conv2d", "--init", "in_channels=3", "out_channels=4",
            "kernel_size=(3, 1)", "bias=False", "--input-size", "1,3,8,8", "--json"]  # fmt: skip
    assert main(argv) == 0
    d = _json(capsys)
    assert d["total_params"] == 4 * 3 * 3 * 1 and d["macs"] == 4 * 6 * 8 * 3 * 3


def test_a_spec_whose_constructor_needs_arguments_names_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["summary", "torch.nn:Linear", "--input-size", "1,784"]) == 2
    err = _error(capsys)
    assert "needs constructor arguments: in_features, out_features" in err
    assert "--init in_features=… out_features=…" in err
    assert main(["summary", "torch.nn:Linear", "--init", "in_featurs=3", "out_features=2"]) == 2
    assert "did you mean in_features?" in _error(capsys)


def test_integer_inputs_with_a_range(weighted: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["summary", weighted, "--init", "vocab=1000", "--input-size", "2,5",
            "--input-size", "2,5", "--input-dtype", "int64", "--input-dtype", "float32",
            "--input-range", "0,1000", "--input-range=-1,1", "--json"]  # fmt: skip
    assert main(argv) == 0
    d = _json(capsys)
    assert [(i["shape"], i["dtype"]) for i in d["inputs"]] == [
        ([2, 5], "int64"),
        ([2, 5], "float32"),
    ]
    assert d["total_params"] == 1000 * 4


def test_ids_out_of_the_embedding_range_fail_the_forward(
    weighted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["summary", weighted, "--input-size", "2,5", "--input-size", "2,5",
            "--input-dtype", "int64", "--input-dtype", "float32",
            "--input-range", "10,11", "--input-range", "0,1"]  # fmt: skip
    assert main(argv) == 1  # a forward that raised: the documented status 1
    assert "forward failed in module 'embed' (Embedding)" in capsys.readouterr().err


def test_int_dtype_for_the_model_is_refused_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "tests.models:MLP", "--input-size", "2,20", "--dtype", "int64"]) == 2
    err = _error(capsys)
    assert "'int64' is not a floating dtype" in err and "--input-dtype" in err


def test_trace_refuses_a_non_floating_dtype() -> None:
    import torchscope
    from tests.models import MLP

    with pytest.raises(ValueError, match="not a floating dtype"):
        torchscope.trace(MLP(), input_size=(2, 20), dtype="int64")


@pytest.mark.parametrize(("flag", "training"), [("--eval", False), ("--train", True)])
def test_eval_and_train_mode(
    flag: str, training: bool, weighted: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "g.json"
    argv = ["graph", weighted, "--input-size", "2,5", "--input-size", "2,5", "--input-dtype",
            "int64", "--input-dtype", "float32", flag, "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(out.read_text())["training"] is training


def test_config_typo_is_refused_with_the_closest_name(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    argv = ["summary", "hf:GPT2LMHeadModel", "--config", "n_layerz=2", "--device", "meta"]
    assert main(argv) == 2
    err = _error(capsys)
    assert "GPT2Config has no setting 'n_layerz'; did you mean n_layer?" in err
    assert capsys.readouterr().out == ""  # no summary of the default model


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_seq_len_over_the_positions_is_refused_on_every_device(
    device: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers")
    argv = ["summary", "hf:GPT2LMHeadModel", "--seq-len", "4096", "--device", device]
    assert main(argv) == 2
    err = _error(capsys)
    assert "sequence length 4,096 is longer than the 1,024 positions GPT2Config allows" in err
    assert "--config n_positions=4096" in err


def test_seq_len_at_the_limit_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    argv = ["summary", "hf:GPT2LMHeadModel", "--seq-len", "1024", "--device", "meta",
            "--config", "n_layer=1", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert _json(capsys)["inputs"][0]["shape"] == [1, 1024]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--device", "nowhere"], "argument --device: unknown device 'nowhere'"),
        (["--device", "cuda"], "argument --device: cuda is not available on this machine"),
        (["--input-size", "99999999999999999999999,8"], "more elements than the limit"),
        (["--input-size", "100000,100000"], "over the limit of 268,435,456 per input on cpu"),
        (["--seq-len", "-5"], "argument --seq-len: must be from 1"),
    ],
)
def test_options_that_ended_in_a_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = ["hf:GPT2LMHeadModel"] if "--seq-len" in argv else ["tests.models:MLP"]
    sizes = [] if "--seq-len" in argv or "--input-size" in argv else ["--input-size", "2,20"]
    assert main(["summary", *spec, *sizes, *argv]) == 2
    assert message in _error(capsys)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("type_error", "TypeError: wrong type"),
        ("key_error", "KeyError: 'missing'"),
        ("runtime_error", "RuntimeError: boom"),
    ],
)
def test_spec_factories_that_raise(
    factory: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli_errors import FACTORIES

    (tmp_path / "factories.py").write_text(FACTORIES)
    spec = f"{tmp_path / 'factories.py'}:{factory}"
    assert main(["summary", spec, "--input-size", "1,4"]) == 2
    assert f"building {spec} failed: {message}" in _error(capsys)


def test_spec_file_with_a_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.py").write_text("def broken(:\n")
    assert main(["summary", f"{tmp_path / 'broken.py'}:broken"]) == 2
    assert "failed: SyntaxError: invalid syntax (broken.py, line 1)" in _error(capsys)


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "torch.nn:Linear", "--input-size", "1,4", "--debug"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "SpecError" in err
    assert err.splitlines()[-1].startswith("error: torch.nn:Linear needs constructor arguments")


def test_unexpected_errors_are_one_line_with_status_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("torchscope._api.summary", broken)
    assert main(["summary", "tests.models:MLP", "--input-size", "2,20"]) == 1
    err = _error(capsys)
    assert "ZeroDivisionError: a bug (run with --debug for the traceback)" in err


def test_help_lists_only_commands_that_exist_and_the_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from torchscope import commands
    from torchscope.commands import ORDER, command_names

    found = {p.stem for p in Path(commands.__file__).parent.glob("[!_]*.py")}
    assert set(ORDER) <= found and set(command_names()) == found
    text = build_parser().format_help()
    listed = re.findall(r"^    (\w+) ", text, flags=re.MULTILINE)
    assert listed == command_names() == ORDER
    assert "exit status:" in text and "2    bad usage or input" in text
    summary_help = build_parser()._subparsers._group_actions[0].choices["summary"].format_help()  # type: ignore[union-attr]
    assert "imports and runs that code" in " ".join(summary_help.split())
    assert "--input-dtype" in summary_help and "--init" in summary_help


def test_cuda_devices_are_checked_against_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from torchscope.commands._args import device_name

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert device_name("cuda") == "cuda" and device_name("cuda:1") == "cuda:1"
    with pytest.raises(argparse.ArgumentTypeError, match="this machine has 2 cuda device"):
        device_name("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(argparse.ArgumentTypeError, match="cuda is not available"):
        device_name("cuda:0")


def test_a_checkpoint_given_to_plot_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "model.safetensors"))
    assert main(["plot", str(tmp_path / "model.safetensors"), "-o", str(tmp_path / "p")]) == 2
    err = _error(capsys)
    assert "cannot read run store" in err and "file is not a database" in err
    assert not (tmp_path / "p").exists()


def test_building_the_parser_imports_no_torch() -> None:
    import subprocess
    import sys

    import torchscope

    src = str(Path(torchscope.__file__).resolve().parents[1])
    code = "import sys; from torchscope.cli import build_parser; build_parser(); " + (
        "print(sorted(m for m in ('torch', 'transformers', 'rich') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": src, "PATH": ""},
    )  # fmt: skip
    assert done.stdout.strip() == "[]", done.stderr  # --help stays instant
