"""User scalars between flushes: checked at ``log``, kept on their device, sent in one copy.

``Monitor.log(step, loss=loss)`` must not wait for the device, so a tensor value is kept
as a detached 0-d clone; a flush stacks all of them into one tensor (one transfer) and
hands the host values to the writer job. A value the store cannot keep is refused at the
call (``LogValueError``), before anything of that call is buffered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from torchscope.errors import LogValueError
from torchscope.monitor.distributed import is_distributed, reduce_sum, world_size
from torchscope.store.checks import check_name, check_number, check_step

__all__ = ["FLUSH_S", "ScalarBuffer"]

FLUSH_S = 0.2  # s; user scalars reach the writer at least this often (one process)

# (step, split, name, value): a float, or a 0-d tensor still on its device
Entry = tuple[int, str, str, "torch.Tensor | float"]


class ScalarBuffer:
    """Scalars logged since the last flush, and when that flush was (by ``clock``).

    Example:
        >>> buf = ScalarBuffer(clock=lambda: 0.0)
        >>> buf.add(3.0, "train", {"loss": torch.tensor(0.5), "lr": 0.1})
        3
        >>> tensors, entries = buf.take()
        >>> tensors["scalars"].tolist(), entries
        ([0.5], [(3, 'train', 'loss', None), (3, 'train', 'lr', 0.1)])
    """

    def __init__(self, clock: Callable[[], float], interval: float = FLUSH_S) -> None:
        self.clock, self.interval = clock, interval
        self.entries: list[Entry] = []
        self.flushed_at = clock()

    def add(self, step: Any, split: Any, values: Mapping[str, Any]) -> int:
        """Check and keep one call's values; return the step as an ``int``."""
        step = check_step(step)
        check_name(split, "split")
        checked = [(check_name(n, "scalar name"), _scalar(n, v)) for n, v in values.items()]
        self.entries += [(step, split, name, value) for name, value in checked]
        return step

    def overdue(self) -> bool:
        """True once ``interval`` seconds passed since the last ``take``."""
        return self.clock() - self.flushed_at >= self.interval

    def take(self) -> tuple[dict[str, torch.Tensor], list[tuple[int, str, str, float | None]]]:
        """The device values stacked (``scalars``) and every entry, a device value as None.

        Under torch.distributed the stacked values are averaged across ranks (collective:
        every rank must take at the same steps).
        """
        self.flushed_at = self.clock()
        entries, self.entries = self.entries, []
        device_values = [v for *_, v in entries if isinstance(v, torch.Tensor)]
        tensors: dict[str, torch.Tensor] = {}
        if device_values:
            device = device_values[0].device
            stacked = torch.stack([v.to(device, non_blocking=True).float() for v in device_values])
            tensors["scalars"] = reduce_sum(stacked) / world_size() if is_distributed() else stacked
        plain = [(s, sp, n, None if isinstance(v, torch.Tensor) else v) for s, sp, n, v in entries]
        return tensors, plain


def _scalar(name: str, value: Any) -> torch.Tensor | float:
    """A logged value as a detached 0-d tensor (left on its device) or a float."""
    if not isinstance(value, torch.Tensor):
        return check_number(value, f"scalar {name!r}")
    if value.numel() != 1:
        raise LogValueError(f"scalar {name!r} is a tensor of shape {tuple(value.shape)}")
    if value.is_complex():
        raise LogValueError(f"scalar {name!r} is a complex tensor; log its real part or abs()")
    return value.detach().reshape(()).clone()
