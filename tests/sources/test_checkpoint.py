"""Reading checkpoints: formats, shards, wrapped state dicts, and refusing what is unsafe."""

from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.models import MLP, TiedLM
from torchscope.errors import CheckpointError
from torchscope.sources.checkpoint import open_checkpoint, tensor_source
from torchscope.sources.tensors import state_dict_source


def _tensors() -> dict[str, torch.Tensor]:
    return {
        "fc1.weight": torch.randn(6, 4),
        "fc1.bias": torch.randn(6),
        "emb.weight": torch.randn(10, 3).to(torch.bfloat16),
        "steps": torch.tensor(7),
    }


def _read_all(path: Path) -> dict[str, torch.Tensor]:
    with open_checkpoint(path) as source:
        return {entry.name: tensor.clone() for entry, tensor in source}


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".bin"])
def test_round_trip_reads_every_tensor_exactly(tmp_path: Path, suffix: str) -> None:
    tensors = _tensors()
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        save_file(tensors, str(path))
    else:
        torch.save(tensors, path)
    with open_checkpoint(path) as source:
        entries = {e.name: e for e in source.entries}
    assert entries["emb.weight"].dtype == "bfloat16" and entries["emb.weight"].shape == (10, 3)
    assert entries["fc1.weight"].nbytes == 6 * 4 * 4 and entries["steps"].shape == ()
    read = _read_all(path)
    assert set(read) == set(tensors)
    for name, t in tensors.items():
        assert torch.equal(read[name], t) and read[name].dtype == t.dtype


def test_sharded_directory_follows_the_index_in_natural_order(tmp_path: Path) -> None:
    first = {"h.10.weight": torch.randn(3, 3)}
    second = {"h.2.weight": torch.randn(2, 5), "h.2.bias": torch.zeros(2)}
    save_file(first, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file(second, str(tmp_path / "model-00002-of-00002.safetensors"))
    index = {
        "metadata": {"total_size": 0},
        "weight_map": {
            "h.10.weight": "model-00001-of-00002.safetensors",
            "h.2.weight": "model-00002-of-00002.safetensors",
            "h.2.bias": "model-00002-of-00002.safetensors",
        },
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    read = _read_all(tmp_path)
    assert list(read) == ["h.2.bias", "h.2.weight", "h.10.weight"]
    assert torch.equal(read["h.2.weight"], second["h.2.weight"])


def test_a_missing_shard_is_named(tmp_path: Path) -> None:
    index = {"weight_map": {"h.0.weight": "model-00001-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=r"missing: \['model-00001-of-00002.safetensors'\]"):
        open_checkpoint(tmp_path)


def test_training_checkpoints_are_unwrapped_and_legacy_files_read(tmp_path: Path) -> None:
    weights = {"layer.weight": torch.randn(2, 2)}
    torch.save({"epoch": 3, "state_dict": weights, "optimizer": {"lr": 0.1}}, tmp_path / "c.ckpt")
    assert list(_read_all(tmp_path / "c.ckpt")) == ["layer.weight"]
    torch.save(weights, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert torch.equal(_read_all(tmp_path / "old.pt")["layer.weight"], weights["layer.weight"])


def test_tied_tensors_in_a_torch_file_appear_once_with_their_alias(tmp_path: Path) -> None:
    torch.save(TiedLM().state_dict(), tmp_path / "tied.pt")
    with open_checkpoint(tmp_path / "tied.pt") as source:
        names = [e.name for e in source.entries]
        assert "head.weight" not in names
        assert source.entry("embed.weight").aliases == ("head.weight",)


class _Payload:
    """Unpickling this would create the marker file, if the loader ever ran it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zip_format", [True, False])
def test_a_pickle_that_would_run_code_is_refused_and_never_runs(
    tmp_path: Path, zip_format: bool
) -> None:
    marker = tmp_path / "payload_ran"
    path = tmp_path / "evil.pt"
    torch.save(
        {"w": torch.ones(2), "x": _Payload(marker)}, path, _use_new_zipfile_serialization=zip_format
    )
    with pytest.raises(CheckpointError) as info:
        open_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "refused" in message
    if zip_format:
        assert "posix.system" in message or "os.system" in message
    assert not marker.exists()
    # the payload is real: an unsafe load of the same file does run it
    torch.load(path, weights_only=False)
    assert marker.exists()


def _valid_safetensors(tmp_path: Path) -> bytes:
    path = tmp_path / "ok.safetensors"
    save_file({"a": torch.randn(64, 64), "b": torch.randn(10)}, str(path))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[:5], "not a valid safetensors file"),
        (lambda b: b"", "not a valid safetensors file"),
        (lambda b: struct.pack("<Q", 10**12) + b"{}", "header too large"),
        (lambda b: struct.pack("<Q", 6) + b"{nope}", "invalid JSON"),
        (lambda b: b[:8] + b"\x00" * (len(b) - 8), "not a valid safetensors file"),
    ],
)
@pytest.mark.timeout(20)
def test_damaged_safetensors_give_a_clear_error(
    tmp_path: Path, damage: object, message: str
) -> None:
    data = _valid_safetensors(tmp_path)
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(damage(data))  # type: ignore[operator]
    with pytest.raises(CheckpointError, match=message) as info:
        _read_all(path)
    assert str(path) in str(info.value)


@pytest.mark.timeout(60)
def test_garbage_and_missing_files_give_clear_errors(tmp_path: Path) -> None:
    rng = random.Random(0)
    for i in range(200):  # random bytes break the unpickler in many different ways
        for suffix in (".pt", ".safetensors"):
            junk = tmp_path / f"junk{i}{suffix}"
            junk.write_bytes(rng.randbytes(rng.randint(0, 3000)))
            with pytest.raises(CheckpointError, match=rf"junk{i}\{suffix}"):
                _read_all(junk)
    with pytest.raises(CheckpointError, match="no such file"):
        open_checkpoint(tmp_path / "absent.safetensors")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no index JSON"):
        open_checkpoint(tmp_path / "empty")


def test_sources_from_models_specs_and_state_dicts() -> None:
    model = TiedLM()
    src = tensor_source(model)
    assert [e.name for e in src.entries] == ["embed.weight", "body.weight", "body.bias"]
    assert src.entry("embed.weight").aliases == ("head.weight",)
    assert src.entry("body.weight").module_type == "Linear"
    mlp = tensor_source("tests.models:MLP")
    assert [e.shape for e in mlp.entries] == [(30, 20), (30,), (10, 30), (10,)]
    state = state_dict_source(MLP().state_dict())
    assert [e.module_type for e in state.entries] == ["", "", "", ""]
    with pytest.raises(TypeError, match="cannot read parameters"):
        tensor_source(42)


def test_memory_maps_are_reopened_so_resident_pages_stay_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchscope.sources.safetensors_file import SafetensorsFile

    tensors = {f"w{i}": torch.full((256, 256), float(i)) for i in range(6)}  # 256 KiB each
    save_file(tensors, str(tmp_path / "m.safetensors"))
    opened: list[int] = []
    original = SafetensorsFile._open

    def counting_open(self: SafetensorsFile) -> object:
        opened.append(1)
        return original(self)

    monkeypatch.setattr(SafetensorsFile, "_open", counting_open)
    monkeypatch.setattr(SafetensorsFile, "_REOPEN_BYTES", 512 << 10)
    read = _read_all(tmp_path / "m.safetensors")
    assert all(torch.equal(read[k], v) for k, v in tensors.items())
    assert len(opened) == 3  # one map per two tensors (the first is the header read)


def test_shared_and_cyclic_containers_are_read_once() -> None:
    """A pickle can put one dict in two places, or a list inside itself."""
    inner = {"w": torch.ones(2)}
    looped: list[object] = [torch.zeros(1)]
    looped.append(looped)
    src = state_dict_source({"a": inner, "b": inner, "c": looped})
    assert [e.name for e in src.entries] == ["a.w", "c.0"]
    chain: dict[str, object] = {"w": torch.ones(1)}
    for _ in range(60):  # 2**60 paths if each shared level were walked twice
        chain = {"x": chain, "y": chain}
    assert [e.name for e in state_dict_source(chain).entries] == ["x." * 60 + "w"]


def test_two_tensors_with_one_name_are_an_error() -> None:
    with pytest.raises(CheckpointError, match="two tensors are both named '1'"):
        state_dict_source({1: torch.ones(1), "1": torch.zeros(1)})  # type: ignore[dict-item]


def test_a_header_of_20000_empty_tensors_costs_no_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It took 41 s and 520 MB: each empty tensor got a full 65,536-bin histogram."""
    from torchscope._api import inspect_params
    from torchscope.analysis import param_inspection

    header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(20000)}
    text = json.dumps(header).encode()
    path = tmp_path / "empty.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    described: list[str] = []
    describe = param_inspection.describe_tensor

    def counting(name: str, *args: object, **kwargs: object) -> object:
        described.append(name)
        return describe(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(param_inspection, "describe_tensor", counting)
    report = inspect_params(path)
    assert described == [] and report.tensors == []
    assert len(report.skipped) == 20000 and set(report.skipped.values()) == {"empty"}
