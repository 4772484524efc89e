"""Where parameter tensors come from: any supported source as a ``TensorSource``.

Sources: an ``nn.Module``, a state dict, a model spec, or a checkpoint — ``.safetensors``
(``safetensors_file``), ``.pt``/``.pth``/``.bin``/``.ckpt`` (``torch_file``: a pickle that
would run code is refused), or a directory of shards with its index JSON (``shards``).
This module picks the reader for a path and joins a checkpoint's files into one source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from torchscope.errors import CheckpointError
from torchscope.sources.safetensors_file import SafetensorsFile
from torchscope.sources.shards import CheckpointFiles, checkpoint_files
from torchscope.sources.tensors import (
    TensorEntry,
    TensorSource,
    module_source,
    state_dict_source,
)
from torchscope.sources.torch_file import LoadedTorchFile, ZipTorchFile, open_torch_file

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "CheckpointSource",
    "is_checkpoint_path",
    "open_checkpoint",
    "tensor_source",
]

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
CheckpointFile = SafetensorsFile | LoadedTorchFile | ZipTorchFile


def is_checkpoint_path(text: str | Path) -> bool:
    """True for an existing path, or one with a checkpoint suffix (and not an ``hf:`` spec)."""
    path = Path(text)
    try:
        if path.exists():
            return True
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        pass
    return path.suffix.lower() in CHECKPOINT_SUFFIXES and not str(text).startswith("hf:")


class CheckpointSource(TensorSource):
    """The tensors of one checkpoint path (a file or a directory of shards), read lazily.

    Torch files keep their saved order; safetensors headers are sorted alphabetically, so
    their tensors come in natural order (``h.2`` before ``h.10``), which follows depth.
    A tensor the shard index names is read from the shard it names; one it does not name
    from the one shard that holds it (two holding it is an error).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.label = str(path)
        layout = checkpoint_files(self.path)
        self._files: list[CheckpointFile] = []
        try:
            for file in layout.files:
                self._files.append(_open_file(file))
            entries = self._assign(layout)
        except BaseException:
            self.close()
            raise
        if all(isinstance(f, SafetensorsFile) for f in self._files):
            entries.sort(key=lambda e: _natural_key(e.name))
        super().__init__(entries)

    def _assign(self, layout: CheckpointFiles) -> list[TensorEntry]:
        """Each tensor with the file it is read from, in file order."""
        self._file_of: dict[str, CheckpointFile] = {}
        entries: list[TensorEntry] = []
        for position, file in enumerate(self._files):
            for entry in file.entries:
                shard = layout.shard_of.get(entry.name)
                if shard is not None and shard != position:
                    continue  # the index names another shard for it
                if entry.name in self._file_of:
                    first = self._file_of[entry.name].path.name
                    raise CheckpointError(
                        self.path, f"tensor {entry.name!r} is in both {first!r} and "
                        f"{file.path.name!r}, and no index says which to read"
                    )  # fmt: skip
                self._file_of[entry.name] = file
                entries.append(entry)
        held = {n for e in entries for n in (e.name, *e.aliases)}
        lost = [name for name in layout.shard_of if name not in held]
        if lost:
            named = layout.files[layout.shard_of[lost[0]]].name
            raise CheckpointError(
                layout.index or self.path, f"the index puts tensor {lost[0]!r} in {named!r}, "
                f"which does not hold it ({len(lost)} such tensor(s))"
            )  # fmt: skip
        return entries

    def get(self, name: str) -> torch.Tensor:
        return self._file_of[name].get(name)

    def close(self) -> None:
        for file in self._files:
            file.close()


def _natural_key(name: str) -> list[Any]:
    """``h.2`` before ``h.10``: digit runs compare by value (by length, then digits, so a
    run of thousands of digits costs no big-integer parse)."""
    parts = re.split(r"(\d+)", name)  # text at even positions, digit runs at odd ones
    return [(len(p.lstrip("0")), p) if i % 2 else p for i, p in enumerate(parts)]


def _open_file(path: Path) -> CheckpointFile:
    if path.suffix.lower() == ".safetensors":
        return SafetensorsFile(path)
    return open_torch_file(path)


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
