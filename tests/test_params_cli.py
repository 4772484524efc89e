"""``torchscope params`` and ``torchscope diff``, run in-process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.models import MLP
from torchscope.cli import main


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "mlp.safetensors"
    save_file(MLP().state_dict(), str(path))
    return path


def test_params_json_of_a_checkpoint(checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(checkpoint), "--json", "--spectral"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in d["tensors"]] == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    assert d["total"]["numel"] == 30 * 20 + 30 + 10 * 30 + 10
    assert {"mean", "std", "percentiles", "hist", "dead_units"} <= set(d["tensors"][0])
    assert [x["name"] for x in d["spectral"]["layers"]] == ["fc1.weight", "fc2.weight"]
    assert d["importance"][0]["method"] == "magnitude"


def test_params_table_and_figures(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figs"
    code = main(
        ["params", str(checkpoint), "--width", "120", "-o", str(out), "--heatmap", "fc1.weight"]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "fc1.weight" in captured.out and "Mean ± std" in captured.out
    assert "heatmap_fc1.weight.png" in captured.err
    assert {p.name for p in out.iterdir()} >= {"histograms.png", "heatmap_fc1.weight.png"}


def test_params_of_an_hf_spec_by_module(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    code = main(
        [
            "params",
            "hf:GPT2LMHeadModel",
            "--config",
            "n_layer=1",
            "n_embd=32",
            "n_head=2",
            "vocab_size=100",
            "--by",
            "module",
            "--width",
            "120",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "transformer.h.0.attn.c_attn" in out and "Module" in out


def test_unsafe_and_damaged_checkpoints_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {marker}",))

    torch.save({"x": Payload()}, tmp_path / "evil.pt")
    assert main(["params", str(tmp_path / "evil.pt")]) == 2
    assert "refused" in capsys.readouterr().err and not marker.exists()
    (tmp_path / "cut.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    assert main(["params", str(tmp_path / "cut.safetensors")]) == 2
    assert "cut.safetensors" in capsys.readouterr().err.replace("\n", "")


def test_diff_of_a_checkpoint_with_itself_and_with_a_change(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(checkpoint), str(checkpoint), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["identical"] and d["rel_change"] == 0.0
    from safetensors.torch import load_file

    tuned = load_file(str(checkpoint))
    tuned["fc2.weight"] = tuned["fc2.weight"] * 1.5
    del tuned["fc2.bias"]
    save_file(tuned, str(tmp_path / "tuned.safetensors"))
    out = tmp_path / "chart"
    code = main(
        [
            "diff",
            str(checkpoint),
            str(tmp_path / "tuned.safetensors"),
            "--width",
            "120",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "removed: fc2.bias [10]" in text and "fc2.weight" in text and "0.5" in text
    assert (out / "diff.png").exists()


def test_meta_device_is_refused_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", "tests.models:MLP", "--device", "meta"]) == 2
    assert "meta device holds none" in capsys.readouterr().err.replace("\n", " ")


def test_nan_weights_fail_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nan.safetensors"
    save_file({"ok": torch.ones(4, 4), "bad": torch.tensor([[1.0, float("nan")]])}, str(path))
    assert main(["params", str(path)]) == 1
    captured = capsys.readouterr()
    assert "bad" in captured.out  # the table still shows the weights and the flag
    assert captured.err == "error: 1 tensor(s) hold NaN or Inf values (see the health flags)\n"
    save_file({"ok": torch.ones(4, 4)}, str(path))
    assert main(["params", str(path)]) == 0


def test_a_bare_tensor_is_one_tensor_in_the_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bare.pt"
    torch.save(torch.ones(4, 4), path)
    assert main(["params", str(path)]) == 0
    out = capsys.readouterr().out
    assert "16 in 1 tensor (float32" in out and "1 tensors" not in out
