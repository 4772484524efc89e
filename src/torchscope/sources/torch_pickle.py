"""A torch zip file's pickle, unpickled safely into tensors that are not read yet.

torch's own weights-only unpickler does the unpickling (it refuses every global outside
tensors and plain containers, so nothing in the file runs); only its ``persistent_load``
is ours. Where ``torch.load`` would load each storage, this gives a storage on the meta
device of the declared size, after checking that the record holding it has exactly that
many bytes. The tensors built on these storages carry shape, dtype, offset and strides;
their values are read later, one tensor at a time, from the record.
"""

from __future__ import annotations

import io
import pickle
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import _weights_only_unpickler

from torchscope.errors import CheckpointError
from torchscope.sources.zip_records import ZipRecord, ZipRecords

__all__ = ["StoredStorage", "refusal", "unpickle_index"]


@dataclass(frozen=True)
class StoredStorage:
    """A storage the pickle refers to: the record holding its bytes, and their dtype."""

    records: ZipRecords
    record: ZipRecord
    data_offset: int  # where a stored record's bytes start in the file (-1: compressed)
    dtype: torch.dtype
    placeholder: torch.UntypedStorage  # the meta storage standing for it while it is unread


def unpickle_index(records: ZipRecords, data: bytes) -> tuple[Any, dict[int, StoredStorage]]:
    """The unpickled object (its tensors on the meta device) and its storages by id.

    The ids are those of the meta storages (``tensor.untyped_storage()._cdata``).
    Raises CheckpointError for a pickle that would run code and for storages that do not
    match their records; other exceptions (a damaged pickle, or a tensor kind that cannot
    be built on the meta device) pass through for the caller to judge.
    """
    unpickler = _IndexUnpickler(data, records)
    validated = getattr(torch._utils, "_sparse_tensors_to_validate", None)
    queued = len(validated) if validated is not None else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = unpickler.load()
    except pickle.UnpicklingError as exc:  # a global outside tensors and containers
        raise CheckpointError(records.path, refusal(str(exc))) from None
    finally:
        if validated is not None:  # sparse tensors queue themselves for torch.load's check
            del validated[queued:]
    return obj, unpickler.storages


class _IndexUnpickler(_weights_only_unpickler.Unpickler):
    """torch's weights-only unpickler whose storages are meta placeholders of checked size."""

    def __init__(self, data: bytes, records: ZipRecords) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")  # as torch.load passes it
        self.records = records
        self.storages: dict[int, StoredStorage] = {}
        self._by_key: dict[str, torch.storage.TypedStorage] = {}

    def persistent_load(self, pid: Any) -> torch.storage.TypedStorage:
        path = self.records.path
        if type(pid) is not tuple or len(pid) != 5:
            raise CheckpointError(path, f"unexpected persistent id {str(pid)[:80]!r}")
        _, storage_type, key, _, numel = pid
        if storage_type is torch.UntypedStorage:
            dtype = torch.uint8
        elif isinstance(storage_type, torch.serialization.StorageType):
            dtype = storage_type.dtype
        else:
            raise CheckpointError(path, f"unexpected storage type {str(storage_type)[:80]!r}")
        if type(numel) is not int or numel < 0:
            raise CheckpointError(path, f"storage {str(key)[:40]!r} has size {str(numel)[:40]}")
        name = f"data/{key}"
        if name in self._by_key:  # torch.load also keeps the first description of a key
            return self._by_key[name]
        record = self.records.record(name)
        nbytes = numel * dtype.itemsize
        if record.size != nbytes:
            raise CheckpointError(
                path, f"record {self.records.prefix}{name} holds {record.size:,} bytes but "
                f"its storage needs {nbytes:,} ({numel:,} × {dtype})"
            )  # fmt: skip
        start = self.records.data_offset(record) if record.stored else -1
        placeholder = torch.UntypedStorage(nbytes, device="meta")
        stored = StoredStorage(self.records, record, start, dtype, placeholder)
        self.storages[placeholder._cdata] = stored
        typed = torch.storage.TypedStorage(wrap_storage=placeholder, dtype=dtype, _internal=True)
        self._by_key[name] = typed
        return typed


def refusal(message: str) -> str:
    """Why ``weights_only`` loading stopped, in one sentence; nothing in the file ran."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    code = next((line for line in lines if "GLOBAL" in line), "")
    if code:
        return (
            f"refused: its pickle would run code ({code.rstrip('.')}); weights_only loading "
            "stopped before anything ran. Get the weights as safetensors, or load the file "
            "yourself only if you trust its author"
        )
    fallback = lines[-1] if lines else "unpickling failed"
    detail = next((line for line in lines if line.startswith("Unsupported")), fallback)
    return (
        f"refused by weights_only loading ({detail}): it is not a torch.save file of tensors "
        "and plain containers, so nothing in it was run"
    )
