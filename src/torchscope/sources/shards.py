"""Which files make up a checkpoint path: one file, or a directory of shards and its index.

A directory holds an index JSON (``model.safetensors.index.json``,
``pytorch_model.bin.index.json``) whose ``weight_map`` names the shard of every tensor,
or a single ``model.safetensors``/``pytorch_model.bin``, or loose ``*.safetensors`` files.
The index is input like any other: the files it names must lie inside the directory
(relative names, no ``..``, no link out of it), and it is size- and depth-limited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from torchscope.errors import CheckpointError
from torchscope.sources.zip_records import said

__all__ = ["MAX_INDEX_BYTES", "CheckpointFiles", "checkpoint_files"]

_INDEX_NAMES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_SINGLE_NAMES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.bin")
# An index lists every tensor once (~100 bytes each): a million tensors fit.
MAX_INDEX_BYTES = 64 << 20


@dataclass(frozen=True)
class CheckpointFiles:
    """The weight files of a checkpoint path, and (with an index) each tensor's shard.

    ``shard_of`` maps a tensor name to its file's position in ``files``.
    """

    files: list[Path]
    shard_of: dict[str, int] = field(default_factory=dict)
    index: Path | None = None


def checkpoint_files(path: str | Path) -> CheckpointFiles:
    """The weight files of a checkpoint path: itself, or a directory's shards in index order.

    Example:
        >>> import tempfile, torch, safetensors.torch
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> safetensors.torch.save_file({"w": torch.ones(1)}, folder / "model.safetensors")
        >>> [f.name for f in checkpoint_files(folder).files]
        ['model.safetensors']
    """
    path = Path(path)
    if _is_file(path):
        return CheckpointFiles([path])
    if not _is_dir(path):
        raise CheckpointError(path, "no such file or directory")
    roots = _roots(path)
    for index_name in _INDEX_NAMES:
        index = path / index_name
        if _is_file(index):
            return _indexed_files(_inside(index, roots, path), roots)
    for single in _SINGLE_NAMES:
        if _is_file(path / single):
            return CheckpointFiles([_inside(path / single, roots, path)])
    try:
        shards = sorted(p for p in path.iterdir() if p.suffix == ".safetensors" and _is_file(p))
    except OSError as exc:
        raise CheckpointError(path, f"cannot list it ({exc.strerror or exc})") from None
    if not shards:
        raise CheckpointError(path, "no index JSON, model.safetensors or *.safetensors inside")
    return CheckpointFiles([_inside(p, roots, path) for p in shards])


def _indexed_files(index: Path, roots: list[Path]) -> CheckpointFiles:
    weight_map = _weight_map(index)
    positions: dict[str, int] = {}
    for shard in weight_map.values():
        positions.setdefault(shard, len(positions))
    files = [_inside(_shard_path(index, shard), roots, index.parent) for shard in positions]
    missing = [name[:200] for name, f in zip(positions, files, strict=True) if not _is_file(f)]
    if missing:
        raise CheckpointError(index, f"shard(s) listed in the index are missing: {missing[:10]}")
    shard_of = {name: positions[shard] for name, shard in weight_map.items()}
    return CheckpointFiles(files, shard_of, index)


def _weight_map(index: Path) -> dict[str, str]:
    """The index's ``weight_map`` (tensor name → shard file name), checked."""
    try:
        size = index.stat().st_size
        if size > MAX_INDEX_BYTES:
            raise CheckpointError(
                index, f"the index is {size:,} bytes, over the limit of {MAX_INDEX_BYTES:,}"
            )
        document = json.loads(index.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(index, f"not a valid shard index ({said(exc)})") from None
    weight_map = document.get("weight_map") if isinstance(document, dict) else None
    if not isinstance(weight_map, dict):
        raise CheckpointError(index, "not a valid shard index (it has no weight_map object)")
    if not weight_map:
        raise CheckpointError(index, "the index's weight_map names no tensors")
    for name, shard in weight_map.items():
        if not isinstance(shard, str):
            raise CheckpointError(index, f"the index gives tensor {name!r} no shard file name")
    return weight_map


def _shard_path(index: Path, name: str) -> Path:
    """The file an index names, refused unless it is a plain relative name below it."""
    parts = PurePosixPath(name).parts
    if not name or "\\" in name or "\0" in name or name.startswith("/") or ".." in parts:
        raise CheckpointError(
            index, f"the index names the shard {name[:200]!r}: shards must be files inside "
            "the checkpoint directory, named relative to it"
        )  # fmt: skip
    return index.parent.joinpath(*parts)


def _roots(directory: Path) -> list[Path]:
    """Where a directory's files may lie once links are followed: inside it, and for a
    Hugging Face cache snapshot (``…/snapshots/<rev>``, whose files link to ``../../blobs``)
    the repository's ``blobs`` folder."""
    real = _resolved(directory, directory)
    roots = [real]
    if real.parent.name == "snapshots":
        roots.append(real.parent.parent / "blobs")
    return roots


def _inside(path: Path, roots: list[Path], directory: Path) -> Path:
    """``path``, after checking that it (or what it links to) lies inside the checkpoint."""
    real = _resolved(path, directory)
    if not any(real.is_relative_to(root) for root in roots):
        raise CheckpointError(
            directory, f"{path.name[:200]!r} links outside the checkpoint directory; "
            "only files inside it are read"
        )  # fmt: skip
    return path


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _resolved(path: Path, directory: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a link loop
        raise CheckpointError(
            directory, f"cannot resolve {path.name[:200]!r} ({said(exc)})"
        ) from None
