"""Progress bars on stderr for long work (rich), silent when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["byte_progress", "step_progress"]

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


@contextmanager
def step_progress(
    label: str, total: int | None, unit: str = "samples", enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """A bar of steps (e.g. batches) on stderr with the rate of ``unit`` per second.

    Yields ``advance(units)``, called once per step with the units it processed. Silent
    when ``enabled`` is false or stderr is not a terminal.
    """
    if not enabled:
        yield lambda units: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=total, rate="")
        done = 0

        def advance(units: int) -> None:
            nonlocal done
            done += units
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:,.0f} {unit}/s" if elapsed > 0 else ""
            bar.update(task, advance=1, rate=rate)

        yield advance
