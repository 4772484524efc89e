"""File names from outside names, and output paths that stay in their folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from torchscope.errors import OutputPathError, TorchscopeError
from torchscope.render.file_names import path_inside, safe_stem


def test_plain_names_stay_as_they_are() -> None:
    for name in ("val", "test", "run_2", "a.b-c", "X9"):
        assert safe_stem(name) == name


@pytest.mark.parametrize(
    "name",
    ["/../../escaped/owned", "..", "../x", "a/b", "a\\b", ".hidden", "-rf", "nul", "COM1.txt",
     "\x1b]0;t\x07", "é", "", " ", "x" * 300, "\ud800"],
)  # fmt: skip
def test_other_names_become_one_plain_component(name: str) -> None:
    stem = safe_stem(name)
    assert stem and stem.isascii() and stem.isprintable() and len(stem) <= 64
    assert "/" not in stem and "\\" not in stem and ".." not in stem
    assert stem[0].isalnum() and stem != name
    assert Path(stem).name == stem


def test_distinct_names_keep_distinct_stems() -> None:
    names = ["a/b", "a_b", "a b", "a?b", "a\\b", "x" * 300, "x" * 301]
    assert len({safe_stem(n) for n in names}) == len(names)


def test_path_inside_refuses_what_resolves_outside(tmp_path: Path) -> None:
    root = tmp_path / "plots"
    root.mkdir()
    assert path_inside(root, "a/b.png") == root / "a" / "b.png"
    for bad in ("../x.png", "/etc/x.png", "a/../../x.png"):
        with pytest.raises(OutputPathError, match="outside the output folder"):
            path_inside(root, bad)
    os.symlink(tmp_path, root / "link")  # a folder inside that points outside
    with pytest.raises(TorchscopeError):
        path_inside(root, "link/x.png")
