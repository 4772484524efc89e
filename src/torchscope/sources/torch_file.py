"""``torch.save`` files (``.pt``, ``.pth``, ``.bin``, ``.ckpt``), read without running code.

Zip files (torch >= 1.6 writes them): the pickle goes through torch's own weights-only
unpickler (``torch_pickle``), which refuses anything that would import or call code. Its
storages are described, not loaded, and each tensor is read when asked from its own
record (``zip_records``): a view of a memory map for stored records, inflated for DEFLATE
ones. The checks ``torch.load(weights_only=True)`` makes are made here too (record sizes
match their storages, version, byte order, TorchScript refused), and no tensor may reach
past its storage. Legacy files (torch < 1.6), and the rare tensor kinds that only
``torch.load`` builds (sparse, quantized, nested), are loaded whole by
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import pickle
import re
import sys
import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from torchscope.errors import CheckpointError
from torchscope.sources._reopened import ReopenedFile
from torchscope.sources.tensors import flatten_state, unique_entries
from torchscope.sources.torch_pickle import StoredStorage, refusal, unpickle_index
from torchscope.sources.zip_records import ZipRecords, said

__all__ = ["MAX_PICKLE_BYTES", "LoadedTorchFile", "ZipTorchFile", "open_torch_file"]

# The pickle is read into memory and unpickled whole: a GPT-2's is 15 kB, and a checkpoint
# with optimizer state for a million tensors stays far below this.
MAX_PICKLE_BYTES = 64 << 20
_ZIP_MAGIC = b"PK\x03\x04"  # how torch.load tells a zip file from a legacy one
_VERSIONS = range(1, 11)  # the file format versions torch 2.x reads
_SMALL = 4096  # version, byte order…: a few bytes each


def open_torch_file(path: Path) -> LoadedTorchFile | ZipTorchFile:
    """The reader for a ``torch.save`` file: zip-based (lazy) or legacy (loaded whole)."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(_ZIP_MAGIC))
    except OSError as exc:
        raise CheckpointError(path, f"cannot open it ({exc.strerror or exc})") from None
    if magic != _ZIP_MAGIC:
        return LoadedTorchFile(path)
    file = ZipTorchFile(path)
    return file if file.lazy else LoadedTorchFile(path)


class LoadedTorchFile:
    """A ``torch.save`` file loaded whole by ``torch.load(weights_only=True)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tensors = _tensors_of(path, _torch_load(path))
        self.entries = unique_entries(self._tensors, where=path)

    def get(self, name: str) -> torch.Tensor:
        return self._tensors[name]

    def close(self) -> None:
        self._tensors = {}


@dataclass(frozen=True)
class _View:
    """Where one tensor's values lie: its storage, and the view into it."""

    storage: StoredStorage
    dtype: torch.dtype
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


class ZipTorchFile(ReopenedFile):
    """A zip ``torch.save`` file: its pickle read once, each tensor read from its record.

    ``lazy`` is False when the pickle could not be read this way: it holds tensors only
    ``torch.load`` builds (sparse, quantized, nested), or it is damaged. Its records have
    been checked, and ``torch.load`` then reads it whole or refuses it.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        records = ZipRecords(path)
        self._swap = _byte_order(records) != sys.byteorder
        self._file_size = records.file_size
        self.lazy = False
        data = records.read("data.pkl", MAX_PICKLE_BYTES)
        try:
            obj, storages = unpickle_index(records, data)
        except CheckpointError:
            raise
        except Exception:  # sparse, quantized, nested… are not built on the meta device:
            return  # torch.load decides (it reads them, or refuses a damaged pickle)
        tensors = _tensors_of(path, obj)
        if any(t.layout != torch.strided for t in tensors.values()):
            return
        self.lazy = True
        self._views = {name: _view(path, name, t, storages) for name, t in tensors.items()}
        # tensors the pickle holds itself (saved on meta, or from numpy): no record to read
        self._held = {name: t for name, t in tensors.items() if self._views[name] is None}
        self.entries = unique_entries(tensors, lambda t: _identity(t, storages), path)

    def _open(self) -> torch.UntypedStorage:
        # The whole file, mapped copy-on-write, as torch.load(mmap=True) maps it.
        mapped = torch.UntypedStorage.from_file(
            str(self.path), shared=False, nbytes=self._file_size
        )
        return mapped  # type: ignore[return-value]

    def get(self, name: str) -> torch.Tensor:
        view = self._views[name]
        if view is None:
            return self._held[name]
        storage = self._storage(view.storage, view.dtype)
        return torch.empty(0, dtype=view.dtype).set_(storage, view.offset, view.shape, view.stride)

    def _storage(self, stored: StoredStorage, dtype: torch.dtype) -> torch.UntypedStorage:
        record = stored.record
        if record.size == 0:
            return torch.UntypedStorage(0)
        if record.stored and not self._swap:
            start = stored.data_offset
            mapped: torch.UntypedStorage = self._fresh_handle(record.size)
            return mapped[start : start + record.size]
        # A compressed record cannot be mapped, and a byte-swapped one is changed: read it.
        storage = torch.UntypedStorage.from_buffer(
            stored.records.read(record.name), dtype=torch.uint8
        )
        if self._swap:
            storage.byteswap(dtype)
        return storage


def _byte_order(records: ZipRecords) -> str:
    """The file's byte order, after the checks ``torch.load`` makes on the small records
    (it reads each of them, so a damaged one is refused there too)."""
    if "constants.pkl" in records:
        raise CheckpointError(
            records.path, "it is a TorchScript archive (torch.jit.save), which holds code; "
            "torch.load(weights_only=True) refuses it too"
        )  # fmt: skip
    name = ".data/version" if ".data/version" in records else "version"
    text = records.read(name, _SMALL).decode("latin-1")
    match = re.match(r"\s*[+-]?\d+", text)  # parsed as torch parses it (std::stoll)
    if match is None or int(match.group()) not in _VERSIONS:
        raise CheckpointError(
            records.path, f"unsupported file format version {text.strip()[:20]!r} (torch reads "
            f"{_VERSIONS.start} to {_VERSIONS.stop - 1})"
        )  # fmt: skip
    if ".data/serialization_id" in records:
        try:  # torch hands it to Python as text
            records.read(".data/serialization_id", _SMALL).decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(records.path, "its serialization id is not text") from None
    if ".format_version" in records:
        records.read(".format_version", _SMALL)
    if ".storage_alignment" in records:
        try:
            int(records.read(".storage_alignment", _SMALL))
        except ValueError:
            raise CheckpointError(records.path, "its .storage_alignment is not a number") from None
    if "byteorder" not in records:
        return "little"
    order = records.read("byteorder", _SMALL)
    if order not in (b"little", b"big"):
        raise CheckpointError(records.path, f"unknown byte order {order[:20]!r}")
    return order.decode()


def _view(
    path: Path, name: str, t: torch.Tensor, storages: dict[int, StoredStorage]
) -> _View | None:
    """Where tensor ``name`` reads its values, after checking they lie inside its storage."""
    stored = storages.get(t.untyped_storage()._cdata)
    if stored is None:
        return None
    shape, stride = tuple(int(n) for n in t.shape), tuple(int(s) for s in t.stride())
    if any(s < 0 for s in stride):
        raise CheckpointError(path, f"tensor {name!r} has negative strides")
    span = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, stride, strict=True))
    end = (t.storage_offset() + span) * t.element_size()
    if span and end > stored.record.size:
        raise CheckpointError(
            path, f"tensor {name!r} reaches byte {end:,} of a storage of "
            f"{stored.record.size:,} bytes (record {stored.record.name})"
        )  # fmt: skip
    return _View(stored, t.dtype, int(t.storage_offset()), shape, stride)


def _identity(t: torch.Tensor, storages: dict[int, StoredStorage]) -> Hashable:
    """The memory a tensor will view, known before it is read (tied weights share it)."""
    stored = storages.get(t.untyped_storage()._cdata)
    if stored is None:
        return ("obj", id(t))
    return (stored.record.name, t.dtype, t.storage_offset(), tuple(t.shape), t.stride())


def _tensors_of(path: Path, obj: Any) -> dict[str, torch.Tensor]:
    tensors = flatten_state(obj, path)
    if not tensors:
        raise CheckpointError(path, f"it holds no tensors (it holds a {type(obj).__name__})")
    return tensors


def _torch_load(path: Path) -> Any:
    """``torch.load(weights_only=True)`` of the whole file, its failures as CheckpointError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(path, refusal(str(exc))) from None
    except Exception as exc:  # a damaged file fails anywhere in the unpickler (KeyError…)
        raise CheckpointError(path, f"not a readable torch file ({said(exc)})") from None
