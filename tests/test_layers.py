"""The architecture's import contracts (pyproject.toml [tool.importlinter]) hold.

Lower layers never import higher ones (analysis/, store/, model/, capture/, sources/ never
import render/ or commands/), so `make test` fails on the first import that breaks them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(no_cache=True, no_logo=True))"
)


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the torchscope package found in ``src``, with ``cwd``'s config."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [sys.executable, "-c", _LINT], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_import_contracts_are_kept() -> None:
    result = _lint(ROOT / "src", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_import_from_a_higher_layer_breaks_them(tmp_path: Path) -> None:
    """The contracts see the real package: one analysis module importing render fails both."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "torchscope", src / "torchscope", ignore=_ASSETS)
    bad = src / "torchscope" / "analysis" / "_draws.py"
    bad.write_text("from torchscope.render.units import fmt_si\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = _lint(src, tmp_path)
    assert result.returncode == 1
    assert "Contracts: 0 kept, 2 broken." in result.stdout
    assert "torchscope.analysis._draws -> torchscope.render.units" in result.stdout


_ASSETS = shutil.ignore_patterns("assets", "__pycache__")
