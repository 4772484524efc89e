"""The command line, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchscope.cli import main


def test_summary_json_for_an_hf_spec(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    code = main(["summary", "hf:GPT2LMHeadModel", "--config", "n_layer=2", "--seq-len", "16",
                 "--device", "meta", "--json"])  # fmt: skip
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total_params"] == 124_439_808 - 10 * 7_087_872
    assert d["device"] == "meta" and d["inputs"][0]["shape"] == [1, 16]
    assert {"name", "type", "params", "macs", "output_shapes"} <= set(d["modules"][0])


def test_summary_of_a_file_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "nets.py"
    spec.write_text(
        "import torch\n"
        "class Net(torch.nn.Sequential):\n"
        "    def __init__(self):\n"
        "        super().__init__(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())\n"
    )
    assert main(["summary", f"{spec}:Net", "--input-size", "1,3,8,8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["macs"] == 4 * 6 * 6 * 27 and d["total_params"] == 4 * 27 + 4


def test_failing_forward_exits_non_zero_with_partial_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["summary", "tests.models:BrokenMiddle", "--input-size", "2,8", "--width", "120"])
    captured = capsys.readouterr()
    assert code == 1
    assert "module 'middle.1' (Linear)" in captured.err and "float32[2, 16]" in captured.err
    assert "first (Linear)" in captured.out and "Failed" in captured.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "nowhere"], "cannot read model spec"),
        (["summary", "tests.models:Missing"], "has no attribute"),
        (["summary", "hf:NoSuchModel"], "transformers has no model class"),
        (["summary", "tests.models:MLP"], "pass --input-size"),
    ],
)
def test_bad_specs_get_clear_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")
