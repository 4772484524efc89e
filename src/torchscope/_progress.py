"""Progress bars on stderr for long work (rich), silent when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["byte_progress"]

T = TypeVar("T")


def byte_progress(
    items: Iterable[T], sizes: Iterable[int], label: str, enabled: bool = True
) -> Iterator[T]:
    """Yield ``items`` while a bar advances by each one's size in bytes (throughput, ETA).

    ``sizes`` gives the bytes of each item in order; the bar's total is their sum.
    """
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    steps = list(sizes)
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=sum(steps))
        for item, size in zip(items, steps):
            yield item
            bar.advance(task, size)
