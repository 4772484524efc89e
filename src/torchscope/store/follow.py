"""Following a live series: the points written after a tail, never one twice or missed.

Points are only ever added to a store: in new chunks, or at the end of a series' *last*
chunk while its writer grows it (store/batch.py, up to a few hundred points). So where a
reader stands in a series is a ``Tail``: the id of the last chunk it read and how many of
that chunk's points it has. What is new is the rest of that chunk and every newer chunk
of the series: one indexed query per series (``chunks_by_series``).

Example:
    >>> run = LiveRun("runs/exp1/run.sqlite")  # doctest: +SKIP
    >>> batch, tail = read_after(run, series_id, Tail())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torchscope.store.batches import Chunk, ChunkBatch

if TYPE_CHECKING:
    from torchscope.store.live import LiveRun

__all__ = ["Follower", "Tail", "batches_after", "read_after"]


@dataclass(frozen=True)
class Tail:
    """The last chunk read of a series and how many of its points were read.

    ``n=None`` means "nothing of chunk ``chunk`` or before it": only newer chunks count.
    """

    chunk: int = 0
    n: int | None = None


def batches_after(
    run: LiveRun, series: int, tail: Tail, *, wall_times: bool = False, batch: int = 4096
) -> Iterator[tuple[ChunkBatch, Tail]]:
    """The series' points after ``tail``, in batches, each with the tail it brings."""
    after, skip = (tail.chunk, tail.n) if tail.n is not None else (tail.chunk + 1, None)
    first = True
    for b in run.batches("series = ? AND id >= ?", (series, after), wall_times=wall_times,
                         batch=batch):  # fmt: skip
        if not len(b):
            continue
        if first and skip is not None and int(b.ids[0]) == tail.chunk:
            b = b.drop_first(skip)  # the chunk read last time: only its new points
        first = False
        last = len(b) - 1
        yield b, Tail(int(b.ids[last]), int(b.starts[last] + b.offsets[last + 1] - b.offsets[last]))


def read_after(run: LiveRun, series: int, tail: Tail) -> tuple[ChunkBatch | None, Tail]:
    """Every point of the series after ``tail`` (steps and values) and the new tail."""
    parts, new_tail = [], tail
    for b, t in batches_after(run, series, tail):
        parts.append(b)
        new_tail = t
    return (ChunkBatch.join(parts) if parts else None), new_tail


class Follower:
    """What a live page has not seen of one run's scalar series, poll after poll.

    Series the page draws start from their own tails (where its chart data ended); every
    other scalar series starts after chunk ``after`` (nothing older is sent). Each poll
    costs one ``PRAGMA data_version`` when nothing was written, else one query per series.
    """

    def __init__(self, run: LiveRun, after: int, tails: dict[int, Tail] | None = None) -> None:
        self.run, self.after = run, after
        self.tails: dict[int, Tail] = dict(tails or {})
        self._version: int | None = None

    def poll(self, max_points: int = 20_000) -> tuple[list[Chunk], list[int]]:
        """(new chunk parts in id order, series too large to send: re-read them decimated)."""
        version = self.run.data_version()
        if version == self._version:
            return [], []
        out: list[Chunk] = []
        too_large: list[int] = []
        total, complete = 0, True
        for key in self.run.series_keys().values():
            if not key.is_scalar:
                continue
            tail = self.tails.get(key.id, Tail(self.after))
            for b, _ in batches_after(self.run, key.id, tail, wall_times=True, batch=256):
                for i in range(len(b)):
                    c = b.chunk(i)
                    n = len(c.steps)
                    if n > max_points:  # one huge write (a bulk import): not streamed
                        too_large.append(key.id)
                    elif total + n > max_points and total:
                        complete = False  # the rest comes with the next poll
                        break
                    elif n:
                        out.append(c)
                        total += n
                    tail = Tail(c.id, c.start + n)
                if not complete:
                    break
            self.tails[key.id] = tail
            if not complete:
                break
        self._version = version if complete else None
        out.sort(key=lambda c: c.id)
        return out, too_large
