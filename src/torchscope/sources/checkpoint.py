"""Where parameter tensors come from: checkpoints read safely, one tensor at a time.

A ``TensorSource`` lists its tensors (name, shape, dtype, owning module type) without
reading data and yields them one by one, so that analysing a checkpoint holds about one
tensor in memory. Sources: an ``nn.Module``, a state dict, a model spec, or a checkpoint —
``.safetensors`` (``safetensors.safe_open``), ``.pt``/``.pth``/``.bin``/``.ckpt``
(``torch.load(weights_only=True, mmap=True)``: a pickle that would run code is refused),
or a directory of shards with its index JSON (``model.safetensors.index.json``).
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from torchscope.capture.structure import unique_tensors
from torchscope.errors import CheckpointError
from torchscope.model.dtypes import dtype_name
from torchscope.model.graph import TensorMeta

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "TensorEntry",
    "TensorSource",
    "checkpoint_files",
    "is_checkpoint_path",
    "module_source",
    "open_checkpoint",
    "state_dict_source",
    "tensor_source",
]

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
_INDEX_NAMES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_SINGLE_NAMES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.bin")
# Training checkpoints wrap the weights; the first of these keys holding tensors is unwrapped.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "ema", "params")


@dataclass(frozen=True)
class TensorEntry(TensorMeta):
    """One tensor of a source (its shape and dtype, and where it belongs), known before its
    data is read.

    ``module_type`` is the owning module's class (``Linear``, ``Conv2d``…) when the source
    is a model, and ``""`` for checkpoints, which carry no code.
    """

    name: str = ""
    module_type: str = ""
    is_buffer: bool = False
    aliases: tuple[str, ...] = ()


class TensorSource:
    """Tensors by name: ``entries`` (no data read), ``get(name)``, and iteration in order."""

    label: str = ""

    def __init__(self, entries: list[TensorEntry]) -> None:
        self.entries = entries
        self._by_name = {e.name: e for e in entries}

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def entry(self, name: str) -> TensorEntry:
        return self._by_name[name]

    def get(self, name: str) -> torch.Tensor:
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[TensorEntry, torch.Tensor]]:
        for entry in self.entries:
            yield entry, self.get(entry.name)

    def close(self) -> None:
        """Release open files (a no-op for in-memory sources)."""

    def __enter__(self) -> TensorSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _MemorySource(TensorSource):
    def __init__(self, tensors: dict[str, torch.Tensor], entries: list[TensorEntry], label: str):
        super().__init__(entries)
        self._tensors = tensors
        self.label = label

    def get(self, name: str) -> torch.Tensor:
        return self._tensors[name].detach()


def module_source(model: nn.Module, include_buffers: bool = False, label: str = "") -> TensorSource:
    """A model's unique parameters (tied weights once, with aliases) and optionally buffers."""
    infos, _ = unique_tensors(model)
    types = {path: type(m).__name__ for path, m in model.named_modules()}
    named: dict[str, torch.Tensor] = dict(model.named_parameters(remove_duplicate=False))
    named.update(model.named_buffers(remove_duplicate=False))
    entries = [
        TensorEntry(
            info.shape,
            info.dtype,
            name=info.name,
            module_type=types.get(info.name.rpartition(".")[0], ""),
            is_buffer=info.is_buffer,
            aliases=tuple(info.aliases),
        )
        for info in infos
        if include_buffers or not info.is_buffer
    ]
    return _MemorySource(named, entries, label or type(model).__name__)


def state_dict_source(state: Mapping[str, Any], label: str = "state dict") -> TensorSource:
    """The tensors of a (possibly nested) state dict; tensors sharing memory appear once."""
    tensors = _flatten(state)
    return _MemorySource(tensors, _unique_entries(tensors), label)


def _unique_entries(tensors: Mapping[str, torch.Tensor]) -> list[TensorEntry]:
    """One entry per distinct tensor; names that share its memory (tied weights) are aliases."""
    entries: list[TensorEntry] = []
    seen: dict[Any, int] = {}
    for name, t in tensors.items():
        key = _memory_key(t)
        if key in seen:
            first = entries[seen[key]]
            entries[seen[key]] = replace(first, aliases=(*first.aliases, name))
            continue
        seen[key] = len(entries)
        entries.append(TensorEntry(tuple(t.shape), dtype_name(t.dtype), name=name))
    return entries


def _memory_key(t: torch.Tensor) -> Any:
    if t.device.type == "meta" or t.numel() == 0:
        return ("obj", id(t))
    return (t.device.type, t.data_ptr(), t.dtype, tuple(t.shape), t.stride())


def _flatten(obj: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of nested dicts/lists under dotted names, unwrapping ``{"state_dict": …}``."""
    if isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and _flatten(inner):
                return _flatten(inner, prefix)
    out: dict[str, torch.Tensor] = {}
    items: Iterable[tuple[Any, Any]] = obj.items() if isinstance(obj, Mapping) else enumerate(obj)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif isinstance(value, Mapping | list | tuple):
            out.update(_flatten(value, name + "."))
    return out


# --- checkpoint files -------------------------------------------------------------------


def is_checkpoint_path(text: str | Path) -> bool:
    """True for an existing path, or one with a checkpoint suffix (and not an ``hf:`` spec)."""
    path = Path(text)
    if path.exists():
        return True
    return path.suffix.lower() in CHECKPOINT_SUFFIXES and not str(text).startswith("hf:")


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


class _ReopenedFile:
    """A file whose tensors are views of a memory map, reopened every ``_REOPEN_BYTES``.

    The pages a map has touched count as the process's resident memory until it is
    closed, so one map held over a whole multi-GB checkpoint would end up that large.
    Reopening drops the old map once the tensors read from it are gone.
    """

    _REOPEN_BYTES = 256 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        self._served = 0
        self._handle: Any = None

    def _open(self) -> Any:
        raise NotImplementedError

    def _fresh_handle(self, nbytes: int) -> Any:
        if self._handle is None or self._served >= self._REOPEN_BYTES:
            self._handle, self._served = None, 0
            self._handle = self._open()
        self._served += nbytes
        return self._handle

    def close(self) -> None:
        self._handle = None


class _SafetensorsFile(_ReopenedFile):
    """One ``.safetensors`` file read through ``safe_open``; the header is validated on open."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        handle = self._open()
        try:
            self.entries = [self._entry(handle, n) for n in handle.keys()]  # noqa: SIM118
        except Exception as exc:
            raise CheckpointError(path, _safetensors_problem(exc)) from None
        self._nbytes = {e.name: e.nbytes for e in self.entries}
        self._handle = handle

    def _open(self) -> Any:
        from safetensors import safe_open

        try:
            return safe_open(str(self.path), framework="pt", device="cpu")
        except Exception as exc:  # SafetensorError, OSError: a corrupt or truncated file
            raise CheckpointError(self.path, _safetensors_problem(exc)) from None

    @staticmethod
    def _entry(handle: Any, name: str) -> TensorEntry:
        piece = handle.get_slice(name)
        dtype = _SAFETENSORS_DTYPES.get(piece.get_dtype(), piece.get_dtype().lower())
        return TensorEntry(tuple(piece.get_shape()), dtype, name=name)

    def get(self, name: str) -> torch.Tensor:
        handle = self._fresh_handle(self._nbytes[name])
        try:
            return handle.get_tensor(name)
        except Exception as exc:
            raise CheckpointError(self.path, f"tensor {name!r}: {exc}") from None


_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
    "BOOL": "bool", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
}  # fmt: skip


def _safetensors_problem(exc: Exception) -> str:
    text = str(exc)
    if "incomplete metadata" in text or "not fully covered" in text:
        return f"the file is truncated or its header does not match its data ({text})"
    return f"not a valid safetensors file ({text})"


class _TorchFile(_ReopenedFile):
    """A ``torch.save`` file loaded with ``weights_only=True`` (and ``mmap`` when zip-based)."""

    _REOPEN_BYTES = 1 << 30  # each reload unpickles the whole index again

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        tensors = self._open()
        if not tensors:
            raise CheckpointError(path, "it holds no tensors")
        self.entries = _unique_entries(tensors)
        self._nbytes = {e.name: e.nbytes for e in self.entries}
        self._handle = tensors

    def _open(self) -> dict[str, torch.Tensor]:
        return _flatten(_torch_load(self.path))

    def get(self, name: str) -> torch.Tensor:
        return self._fresh_handle(self._nbytes[name])[name]


def _torch_load(path: Path) -> Any:
    # mmap=True keeps the data on disk until a tensor is touched; it needs the zip format
    # (torch >= 1.6 default). Older files are loaded whole, still with weights_only=True.
    mmap = zipfile.is_zipfile(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(path, _refusal(str(exc))) from None
    except Exception as exc:  # a damaged file fails anywhere in the unpickler (KeyError…)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problem = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise CheckpointError(path, f"not a readable torch file ({problem})") from None


def _refusal(message: str) -> str:
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


class CheckpointSource(TensorSource):
    """The tensors of one checkpoint path (a file or a directory of shards), read lazily.

    Torch files keep their saved order; safetensors headers are sorted alphabetically, so
    their tensors come in natural order (``h.2`` before ``h.10``), which follows depth.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.label = str(path)
        self._files = [_open_file(f) for f in checkpoint_files(self.path)]
        self._file_of: dict[str, Any] = {}
        entries: list[TensorEntry] = []
        for file in self._files:
            for entry in file.entries:
                if entry.name not in self._file_of:
                    self._file_of[entry.name] = file
                    entries.append(entry)
        if all(isinstance(f, _SafetensorsFile) for f in self._files):
            entries.sort(key=lambda e: _natural_key(e.name))
        super().__init__(entries)

    def get(self, name: str) -> torch.Tensor:
        return self._file_of[name].get(name)

    def close(self) -> None:
        for file in self._files:
            file.close()


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _open_file(path: Path) -> _SafetensorsFile | _TorchFile:
    if path.suffix.lower() == ".safetensors":
        return _SafetensorsFile(path)
    return _TorchFile(path)


def open_checkpoint(path: str | Path) -> TensorSource:
    """Open a checkpoint for reading; raises CheckpointError naming the file and the problem.

    Example:
        >>> import tempfile, torch, safetensors.torch
        >>> from torchscope.sources.checkpoint import open_checkpoint
        >>> path = tempfile.mkdtemp() + "/w.safetensors"
        >>> safetensors.torch.save_file({"fc.weight": torch.ones(2, 3)}, path)
        >>> with open_checkpoint(path) as source:
        ...     [(e.name, e.shape) for e in source.entries]
        [('fc.weight', (2, 3))]
    """
    return CheckpointSource(path)


def tensor_source(
    source: Any,
    *,
    include_buffers: bool = False,
    config: dict[str, Any] | None = None,
) -> TensorSource:
    """Any supported source as a TensorSource.

    ``source`` is an ``nn.Module``, a state dict, a TensorSource, a checkpoint path, or a
    model spec (``hf:GPT2LMHeadModel``, ``pkg.module:Name``) built with random weights.
    """
    if isinstance(source, TensorSource):
        return source
    if isinstance(source, nn.Module):
        return module_source(source, include_buffers)
    if isinstance(source, Mapping):
        return state_dict_source(source)
    if isinstance(source, str | Path):
        if is_checkpoint_path(source):
            return open_checkpoint(source)
        from torchscope.sources.spec import load_model

        model = load_model(str(source), config or {}).model
        return module_source(model, include_buffers, label=str(source))
    raise TypeError(
        f"cannot read parameters from a {type(source).__name__}: give an nn.Module, a state "
        "dict, a checkpoint path or a model spec"
    )
