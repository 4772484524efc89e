"""Directories of shards: only files inside the directory, each tensor from its named shard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.sources.corrupt import weights, write_shards
from torchscope.errors import CheckpointError
from torchscope.sources.checkpoint import open_checkpoint

INDEX = "model.safetensors.index.json"


def _read(path: Path) -> dict[str, torch.Tensor]:
    with open_checkpoint(path) as source:
        return {entry.name: tensor.clone() for entry, tensor in source}


def _write_index(folder: Path, weight_map: object) -> None:
    (folder / INDEX).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def _refused(path: Path, match: str) -> None:
    with pytest.raises(CheckpointError, match=match) as info:
        _read(path)
    assert "\n" not in str(info.value)


def test_a_sharded_checkpoint_reads_every_tensor(tmp_path: Path) -> None:
    read = _read(write_shards(tmp_path / "m"))
    expected = {k: v for k, v in weights().items() if k != "head.weight"}
    assert set(read) == set(expected)
    assert all(torch.equal(read[k], v) for k, v in expected.items())


@pytest.mark.parametrize(
    "name", ["../outside.safetensors", "/etc/hostname", "sub/../../outside.safetensors", ""]
)
def test_index_paths_outside_the_directory_are_refused(tmp_path: Path, name: str) -> None:
    folder = write_shards(tmp_path / "m")
    save_file({"x": torch.ones(1)}, str(tmp_path / "outside.safetensors"))
    _write_index(folder, {"fc.weight": name})
    _refused(folder, "shards must be files inside the checkpoint directory")


def test_a_shard_linking_outside_the_directory_is_refused(tmp_path: Path) -> None:
    folder = write_shards(tmp_path / "m")
    save_file({"fc.bias": torch.ones(1)}, str(tmp_path / "secret.safetensors"))
    (folder / "link.safetensors").symlink_to(tmp_path / "secret.safetensors")
    _write_index(folder, {"fc.bias": "link.safetensors"})
    _refused(folder, "'link.safetensors' links outside the checkpoint directory")
    (folder / INDEX).unlink()
    for shard in folder.glob("model-*.safetensors"):
        shard.unlink()
    _refused(folder, "links outside the checkpoint directory")  # loose shards too


def test_a_hugging_face_cache_snapshot_reads_through_its_blob_links(tmp_path: Path) -> None:
    """The hub cache keeps files in ``blobs/`` and links them from ``snapshots/<rev>/``."""
    source = write_shards(tmp_path / "src")
    repo = tmp_path / "models--org--name"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for i, file in enumerate(sorted(source.iterdir())):
        (file.rename(repo / "blobs" / f"blob{i}"))
        (snapshot / file.name).symlink_to(Path("../../blobs") / f"blob{i}")
    assert set(_read(snapshot)) == {k for k in weights() if k != "head.weight"}


def test_a_tensor_is_read_from_the_shard_the_index_names(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    save_file({"w": torch.zeros(3)}, str(folder / "a.safetensors"))  # a stale copy
    save_file({"w": torch.ones(3), "b": torch.ones(1)}, str(folder / "b.safetensors"))
    _write_index(folder, {"w": "b.safetensors", "b": "b.safetensors"})
    # a.safetensors is not in the index: not read at all
    assert torch.equal(_read(folder)["w"], torch.ones(3))
    _write_index(folder, {"w": "b.safetensors", "b": "b.safetensors", "z": "a.safetensors"})
    _refused(folder, "the index puts tensor 'z' in 'a.safetensors', which does not hold it")
    _write_index(folder, {"w": "b.safetensors"})  # b is not listed: read from its one shard
    read = _read(folder)
    assert torch.equal(read["w"], torch.ones(3)) and torch.equal(read["b"], torch.ones(1))


def test_the_same_tensor_in_two_loose_shards_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    save_file({"w": torch.zeros(3)}, str(folder / "a.safetensors"))
    save_file({"w": torch.ones(3)}, str(folder / "b.safetensors"))
    _refused(folder, "'w' is in both 'a.safetensors' and 'b.safetensors', and no index says")


@pytest.mark.parametrize(
    ("index", "match"),
    [
        ('{"weight_map": {}}', "weight_map names no tensors"),
        ('{"metadata": {}}', "it has no weight_map object"),
        ("[1, 2]", "it has no weight_map object"),
        ('{"weight_map": {"w": 3}}', "gives tensor 'w' no shard file name"),
        ('{"weight_map": ', "not a valid shard index"),
        ("\xff", "not a valid shard index"),
        ("[" * 100_000 + "]" * 100_000, r"not a valid shard index \(RecursionError"),
    ],
)
def test_malformed_indexes_are_one_clear_error(tmp_path: Path, index: str, match: str) -> None:
    folder = write_shards(tmp_path / "m")
    (folder / INDEX).write_text(index, encoding="latin-1")
    _refused(folder, match)


def test_an_index_over_the_size_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchscope.sources import shards

    folder = write_shards(tmp_path / "m")
    monkeypatch.setattr(shards, "MAX_INDEX_BYTES", 50)
    _refused(folder, "the index is .* bytes, over the limit of 50")
