"""Valid checkpoints in every supported format, and ways to damage them for the tests.

The damaged files start from real ``torch.save``/``safetensors`` outputs, so each test
changes one thing a reader has to check and keeps the rest exactly as torch writes it.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file

__all__ = [
    "central_entries",
    "patch_central",
    "rezip",
    "weights",
    "write_legacy",
    "write_safetensors",
    "write_shards",
    "write_torch_zip",
]

_CENTRAL = struct.Struct("<4s16xIIHHH8xI")  # signature … sizes, name/extra/comment, offset


def weights() -> dict[str, torch.Tensor]:
    """A small state dict: float32 matrix, a view, bf16, int64, a tied pair and a scalar."""
    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(16, 8, generator=generator)
    return {
        "fc.weight": matrix,
        "fc.bias": torch.randn(16, generator=generator),
        "emb.weight": torch.randn(10, 4, generator=generator).to(torch.bfloat16),
        "head.weight": matrix,  # tied to fc.weight
        "steps": torch.tensor(7),
        "ids": torch.arange(6),
    }


_WEIGHTS = object()


def write_torch_zip(path: Path, obj: object = _WEIGHTS) -> Path:
    """``torch.save(obj)`` (default: ``weights()``) in the zip format."""
    torch.save(weights() if obj is _WEIGHTS else obj, path)
    return path


def write_legacy(path: Path, obj: object = _WEIGHTS) -> Path:
    """``torch.save(obj)`` in the legacy (torch < 1.6) format."""
    obj = weights() if obj is _WEIGHTS else obj
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    return path


def write_safetensors(path: Path) -> Path:
    tensors = {k: v for k, v in weights().items() if k != "head.weight"}
    save_file(tensors, str(path))
    return path


def write_shards(folder: Path) -> Path:
    """Two safetensors shards and their index, as ``save_pretrained`` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.contiguous() for k, v in weights().items() if k != "head.weight"}
    names = sorted(tensors)
    half = {
        "model-00001-of-00002.safetensors": names[:3],
        "model-00002-of-00002.safetensors": names[3:],
    }
    weight_map = {}
    for shard, members in half.items():
        save_file({n: tensors[n] for n in members}, str(folder / shard))
        weight_map.update(dict.fromkeys(members, shard))
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def rezip(
    src: Path,
    dst: Path,
    edit: Callable[[str, bytes], bytes | None] | None = None,
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    """A copy of zip ``src`` written by Python's zipfile, each record passed through ``edit``
    (``None`` drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            original = zin.read(info.filename)
            data = edit(info.filename, original) if edit is not None else original
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def central_entries(data: bytes) -> dict[str, int]:
    """Where each record's central directory entry starts in the zip bytes ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        position = archive.start_dir
        names = [i.filename for i in archive.infolist()]
    found = {}
    for _ in names:
        signature, _, _, name_length, extra, comment, _ = _CENTRAL.unpack_from(data, position)
        assert signature == b"PK\x01\x02"
        found[data[position + 46 : position + 46 + name_length].decode()] = position
        position += 46 + name_length + extra + comment
    assert set(found) == set(names)
    return found


def patch_central(data: bytes, name: str, field: str, value: int) -> bytes:
    """``data`` with one field (``compressed``, ``size``, ``offset``) of ``name``'s central
    directory entry set to ``value``."""
    at = central_entries(data)[name] + {"compressed": 20, "size": 24, "offset": 42}[field]
    return data[:at] + struct.pack("<I", value) + data[at + 4 :]
