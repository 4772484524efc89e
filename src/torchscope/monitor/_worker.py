"""The background thread: waits for asynchronous device-to-host copies, then writes.

The training thread only enqueues (device tensors, callback); the copy into pinned memory
is started with ``non_blocking=True`` and an event recorded, so no step waits for it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["Worker"]

_log = logging.getLogger("torchscope.monitor")

Callback = Callable[[dict[str, np.ndarray]], None]


def _start_copy(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if t.device.type == "cuda":
        host = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
        return host.copy_(t, non_blocking=True)
    if t.device.type == "cpu":
        return t.clone()  # a snapshot: the caller may keep accumulating into ``t``
    return t.to("cpu", non_blocking=True)


class Worker:
    """Runs callbacks on host copies of device tensors, in submission order, on one thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[dict[str, torch.Tensor], Any, Callback] | None]
        self._queue = queue.Queue()
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="torchscope-monitor", daemon=True)
        self._thread.start()

    def submit(self, tensors: Mapping[str, torch.Tensor], callback: Callback) -> None:
        """Start copying ``tensors`` to the host and queue ``callback`` on their numpy values."""
        host = {key: _start_copy(t) for key, t in tensors.items()}
        event = None
        if any(t.device.type == "cuda" for t in tensors.values()):
            event = torch.cuda.Event()
            event.record()
        self._queue.put((host, event, callback))

    def close(self) -> None:
        """Finish every queued job, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            host, event, callback = job
            try:
                if event is not None:
                    event.synchronize()
                callback({key: t.numpy() for key, t in host.items()})
            except Exception as exc:  # a failed write must never stop training
                self.errors.append(f"{type(exc).__name__}: {exc}")
                _log.warning("torchscope monitor: writing failed: %s", exc, exc_info=True)
