"""Which files make up a checkpoint path: one file, or a directory of shards and its index.

A directory holds an index JSON (``model.safetensors.index.json``,
``pytorch_model.bin.index.json``) whose ``weight_map`` names the shard of every tensor,
or a single ``model.safetensors``/``pytorch_model.bin``, or loose ``*.safetensors`` files.
"""

from __future__ import annotations

import json
from pathlib import Path

from torchscope.errors import CheckpointError

__all__ = ["checkpoint_files"]

_INDEX_NAMES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_SINGLE_NAMES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.bin")


def checkpoint_files(path: str | Path) -> list[Path]:
    """The weight files of a checkpoint path: itself, or a directory's shards in index order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise CheckpointError(path, "no such file or directory")
    for index_name in _INDEX_NAMES:
        index = path / index_name
        if index.is_file():
            return _index_files(index)
    for single in _SINGLE_NAMES:
        if (path / single).is_file():
            return [path / single]
    shards = sorted(p for p in path.iterdir() if p.suffix == ".safetensors")
    if not shards:
        raise CheckpointError(path, "no index JSON, model.safetensors or *.safetensors inside")
    return shards


def _index_files(index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        names = list(dict.fromkeys(str(f) for f in weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(index, f"not a valid shard index ({exc})") from None
    files = [index.parent / n for n in names]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise CheckpointError(index, f"shard(s) listed in the index are missing: {missing}")
    return files
