"""File names made from names that came from outside, and paths kept inside their folder.

A run store, a checkpoint or a graph is input: a split named ``/../../escaped/owned`` must
not become a path. ``safe_stem`` turns any name into one plain file-name component;
``path_inside`` refuses a path that resolves (symbolic links included) outside its root.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from torchscope.errors import OutputPathError

__all__ = ["path_inside", "safe_stem"]

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
# Windows device names: a file called CON or nul.png cannot be created there
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)
_MAX_STEM = 64


def safe_stem(name: str) -> str:
    """A file-name stem for ``name``: itself if plain, else a slug and a short hash.

    A plain name (letters, digits, ``._-``, starting with a letter or digit, at most 64
    characters, not a Windows device name) is kept, so ``val`` stays ``val``. Any
    other name keeps its plain characters and gains 8 hex digits of its SHA-256, so two
    different names never share a stem (``a/b`` and ``a_b`` stay apart) and no stem
    holds a separator, ``..``, a leading dot or a control character.

    Example:
        >>> safe_stem("val"), safe_stem("/../../escaped/owned")
        ('val', 'escaped_owned-5e6a735b')
    """
    plain = _SAFE.fullmatch(name) and ".." not in name and len(name) <= _MAX_STEM
    if plain and not _RESERVED.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    slug = _UNSAFE_RUN.sub("_", name).replace("..", "_").strip("._-")[: _MAX_STEM - 9]
    return f"{slug}-{digest}" if slug else digest


def path_inside(root: Path, relative: str | Path) -> Path:
    """``root / relative``, or OutputPathError when it resolves outside ``root``.

    Example:
        >>> path_inside(Path("plots"), "a/curves.png")
        PosixPath('plots/a/curves.png')
    """
    path = root / relative
    if not path.resolve().is_relative_to(root.resolve()):
        raise OutputPathError(path, root)
    return path
