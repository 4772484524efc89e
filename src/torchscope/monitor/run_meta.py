"""What a monitored run records about itself: its writer, environment, settings and model.

Written once, at the start of a run, as store metadata: the software and device it ran
on, the monitor's schedule, and (given an example input) the model's summary and graph
from one traced forward pass.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from torchscope.model.dtypes import dtype_name
from torchscope.monitor._jobs import Writer
from torchscope.monitor.distributed import world_size

__all__ = [
    "environment",
    "git_state",
    "model_summary",
    "open_writer",
    "param_device",
    "start_meta",
]

GIT_TIMEOUT_S = 2.0  # a slow or hung git (a network file system) must not hold up training
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories


def open_writer(
    logdir: str | Path | None,
    *,
    name: str | None,
    tags: Iterable[str],
    note: str | None,
    resume: bool,
) -> Writer:
    """A RunWriter on ``logdir`` (default ``runs/<date-time>``), new beside a taken one.

    Example:
        >>> open_writer("runs/x", name="a", tags=(), note=None, resume=False)  # doctest: +SKIP
    """
    from torchscope.store.writer import RunWriter

    path = logdir if logdir is not None else time.strftime("runs/%Y%m%d-%H%M%S")
    writer: Writer = RunWriter(path, name=name, tags=tags, note=note, resume=resume)
    return writer


def param_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def environment(model: nn.Module) -> dict[str, Any]:
    """Versions, platform, device and parameter dtype of the run.

    Example:
        >>> environment(torch.nn.Linear(2, 2))["param_dtype"]
        'float32'
    """
    param = next(model.parameters(), None)
    device = param_device(model)
    env: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "world_size": world_size(),
    }
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    dtype = param.dtype if param is not None else None
    env["param_dtype"] = dtype_name(dtype) if dtype is not None else None
    env.update(git_state())
    return env


def git_state(cwd: str | Path | None = None) -> dict[str, Any]:
    """``git_commit`` and ``git_dirty`` of the working directory's repository; ``{}`` when it
    is not in one, git is missing, or git does not answer within ``GIT_TIMEOUT_S``.

    ``git_dirty`` (tracked files changed since the commit) is left out when git cannot say.

    Example:
        >>> sorted(git_state("/"))  # not a repository: nothing recorded
        []
    """
    commit = _git(["rev-parse", "--verify", "HEAD"], cwd)
    if commit is None or not _COMMIT.fullmatch(commit.strip()):
        return {}
    state: dict[str, Any] = {"git_commit": commit.strip()}
    changes = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    if changes is not None:
        state["git_dirty"] = bool(changes.strip())
    return state


def _git(args: list[str], cwd: str | Path | None) -> str | None:
    """git's output, or None when it fails, is missing or is too slow (never raises)."""
    git = shutil.which("git")
    if git is None:
        return None
    # no optional locks: `git status` must not write the index of the user's repository
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            [git, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    return done.stdout if done.returncode == 0 else None


def start_meta(
    model: nn.Module,
    settings: dict[str, Any],
    config: Mapping[str, Any] | None,
    start_time: float,
    resumed: bool,
) -> dict[str, Any]:
    """The metadata a run records when its monitor starts (a resumed run keeps its start).

    Example:
        >>> meta = start_meta(torch.nn.Linear(2, 2), {"every": 25}, {"lr": 0.1}, 0.0, False)
        >>> sorted(meta)
        ['config', 'environment', 'monitor', 'start_time']
    """
    meta: dict[str, Any] = {"environment": environment(model)}
    if not resumed:
        meta["start_time"] = start_time
    meta["config"] = dict(config or {})
    meta["monitor"] = settings
    return meta


def model_summary(
    model: nn.Module, example_input: Sequence[Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's summary and graph as dicts, from one traced forward pass.

    The global RNG is forked, so the trace draws nothing from the training's random stream.

    Example:
        >>> summary, graph = model_summary(torch.nn.Linear(4, 2), (torch.randn(1, 4),))
        >>> summary["total_params"]
        10
    """
    from torchscope.analysis.summary import summarize
    from torchscope.capture.trace import trace

    with torch.random.fork_rng(devices=[]):
        graph = trace(model, *example_input)
    return summarize(graph).to_dict(), graph.to_dict()
