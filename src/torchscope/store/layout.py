"""Where runs live: one directory per run, a new run beside a taken one, finding runs.

A run directory holds one store file, ``run.sqlite``. Launching a script twice with the
same ``logdir`` must not mix two runs in one file (two values per step, zig-zag curves), so
a writer *claims* its directory by creating the store file exclusively (``O_EXCL``): if
``runs/exp`` already holds a run, the next claim takes ``runs/exp-2``, then ``runs/exp-3``…
Two processes starting at once never claim the same one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from torchscope.store.schema import RUN_FILENAME

__all__ = ["MAX_SIBLINGS", "claim_run_dir", "find_runs"]

MAX_SIBLINGS = 10_000  # runs beside one logdir before claiming gives up


def claim_run_dir(logdir: Path, *, resume: bool = False) -> Path:
    """The run directory to write: ``logdir``, or with ``resume=False`` a free one beside it.

    ``logdir`` itself when it holds no run (or when resuming); otherwise the first of
    ``logdir-2``, ``logdir-3``… that holds none. The store file is created (empty) in the
    returned directory, so the claim holds against other processes.

    Example:
        >>> claim_run_dir(Path("runs/exp"))  # doctest: +SKIP
        PosixPath('runs/exp-2')
    """
    if resume:
        logdir.mkdir(parents=True, exist_ok=True)
        return logdir
    if not logdir.name:  # "." or "": its siblings are named after the real directory
        logdir = logdir.resolve()
    for n in range(1, MAX_SIBLINGS + 1):
        candidate = logdir if n == 1 else logdir.with_name(f"{logdir.name}-{n}")
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            fd = os.open(candidate / RUN_FILENAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:  # a run is there (or a file named like the directory)
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"{logdir} and {MAX_SIBLINGS - 1} runs beside it already exist")


def find_runs(path: str | Path) -> list[Path]:
    """Run directories at or below ``path`` (a run dir, a folder of runs, or a store file).

    Runs beside one another are listed in natural order (``exp``, ``exp-2`` … ``exp-10``).

    Example:
        >>> find_runs("runs")  # doctest: +SKIP
        [PosixPath('runs/exp1'), PosixPath('runs/exp1-2'), PosixPath('runs/exp2')]
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if (p / RUN_FILENAME).is_file():
        return [p]
    return sorted((f.parent for f in p.rglob(RUN_FILENAME)), key=_natural)


def _natural(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Sort key: digit runs compare as numbers, so ``exp-10`` comes after ``exp-9``."""
    parts = re.split(r"(\d+)", path.as_posix())
    return tuple((1, int(s)) if i % 2 else (0, s) for i, s in enumerate(parts))
