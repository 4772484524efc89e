"""Store chunks decoded in batches: one numpy array per column for many chunks at once.

A run written like a training run holds many small chunks (one per series per commit:
100,000 chunks of 10 points for a million-point series). Decoding them one Python object
each costs more than the reduction that follows, so a batch joins the blobs of all its
rows and decodes each column once, keeping the chunk boundaries as offsets.

Example:
    >>> b = ChunkBatch.decode([(1, 7, 2, 0, (np.arange(2) + 5).astype("<i8").tobytes(),
    ...                          np.ones(2).tobytes())], wall_times=False)
    >>> b.steps.tolist(), b.offsets.tolist(), b.chunk(0).series
    ([5, 6], [0, 2], 7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from torchscope.store.schema import STEP_DTYPE, VALUE_DTYPE

__all__ = ["Chunk", "ChunkBatch"]


@dataclass(frozen=True)
class Chunk:
    """One stored chunk: points of one series written by one commit, in write order."""

    id: int
    series: int
    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray | None
    segment: int = 0  # the writer session that wrote it (schema 2; 0 before)
    start: int = 0  # position of the first point here in the stored chunk (a grown chunk)


@dataclass(frozen=True)
class ChunkBatch:
    """Consecutive chunks (in id order) as joined columns; chunk ``i`` is
    ``steps[offsets[i]:offsets[i + 1]]`` (and likewise values and wall times), and starts
    at point ``starts[i]`` of the stored chunk (0 unless its first points were dropped)."""

    ids: np.ndarray
    series: np.ndarray
    segments: np.ndarray
    offsets: np.ndarray
    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray | None
    starts: np.ndarray

    @staticmethod
    def decode(rows: Sequence[tuple[Any, ...]], *, wall_times: bool) -> ChunkBatch:
        """Rows ``(id, series, n, segment, steps, vals[, wall_times])`` → a batch.

        A row whose blobs do not hold exactly ``n`` points is left out (a damaged store
        shows what is intact).
        """
        width = 7 if wall_times else 6
        good = [
            r
            for r in rows
            if len(r) == width
            and isinstance(r[2], int)
            and r[2] >= 0
            and all(isinstance(b, bytes) and len(b) == 8 * r[2] for b in r[4:])
        ]
        n = np.array([r[2] for r in good], dtype=np.int64)
        return ChunkBatch(
            ids=np.array([r[0] for r in good], dtype=np.int64),
            series=np.array([r[1] for r in good], dtype=np.int64),
            segments=np.array([r[3] if isinstance(r[3], int) else 0 for r in good], np.int64),
            offsets=np.concatenate([[0], np.cumsum(n)]).astype(np.int64),
            steps=np.frombuffer(b"".join(r[4] for r in good), STEP_DTYPE),
            values=np.frombuffer(b"".join(r[5] for r in good), VALUE_DTYPE),
            wall_times=(
                np.frombuffer(b"".join(r[6] for r in good), VALUE_DTYPE) if wall_times else None
            ),
            starts=np.zeros(len(good), np.int64),
        )

    @staticmethod
    def join(batches: Sequence[ChunkBatch]) -> ChunkBatch:
        """Several batches (in id order) as one."""
        if len(batches) == 1:
            return batches[0]
        sizes = np.cumsum([0] + [len(b.steps) for b in batches[:-1]])
        offsets = [b.offsets[:-1] + s for b, s in zip(batches, sizes)]
        walls = [b.wall_times for b in batches]
        return ChunkBatch(
            ids=np.concatenate([b.ids for b in batches]),
            series=np.concatenate([b.series for b in batches]),
            segments=np.concatenate([b.segments for b in batches]),
            offsets=np.concatenate([*offsets, [sum(len(b.steps) for b in batches)]]),
            steps=np.concatenate([b.steps for b in batches]),
            values=np.concatenate([b.values for b in batches]),
            wall_times=(
                np.concatenate([w for w in walls if w is not None])
                if all(w is not None for w in walls)
                else None
            ),
            starts=np.concatenate([b.starts for b in batches]),
        )

    def drop_first(self, k: int) -> ChunkBatch:
        """This batch without the first ``k`` points of its first chunk (already read)."""
        k = max(0, min(int(k), int(self.offsets[1] - self.offsets[0]))) if len(self) else 0
        if not k:
            return self
        walls = None if self.wall_times is None else self.wall_times[k:]
        offsets = self.offsets - k
        offsets[0] = 0
        starts = self.starts.copy()
        starts[0] += k
        return ChunkBatch(self.ids, self.series, self.segments, offsets, self.steps[k:],
                          self.values[k:], walls, starts)  # fmt: skip

    def keep_points(self, chunk: int, n: int) -> ChunkBatch:
        """This batch with chunk ``chunk`` cut to its first ``n`` stored points (a chunk that
        grew after a reader noted its size: the reader keeps exactly what it noted)."""
        hit = np.flatnonzero(self.ids == chunk)
        if not len(hit):
            return self
        i = int(hit[0])
        have = int(self.offsets[i + 1] - self.offsets[i])
        extra = max(0, int(self.starts[i]) + have - n)
        if not extra:
            return self
        end = int(self.offsets[i + 1])
        keep = np.r_[0 : end - extra, end : len(self.steps)]
        offsets = self.offsets.copy()
        offsets[i + 1 :] -= extra
        walls = None if self.wall_times is None else self.wall_times[keep]
        return ChunkBatch(self.ids, self.series, self.segments, offsets, self.steps[keep],
                          self.values[keep], walls, self.starts)  # fmt: skip

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def points(self) -> int:
        return len(self.steps)

    def chunk(self, i: int) -> Chunk:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        walls = None if self.wall_times is None else self.wall_times[a:b]
        seg, start = int(self.segments[i]), int(self.starts[i])
        return Chunk(int(self.ids[i]), int(self.series[i]), self.steps[a:b], self.values[a:b],
                     walls, seg, start)  # fmt: skip

    def point_series(self) -> np.ndarray:
        """The series id of every point."""
        return np.repeat(self.series, np.diff(self.offsets))

    def session_starts(self, previous: int | None) -> np.ndarray:
        """Point positions where a chunk of another writer session (segment) begins."""
        segs = self.segments
        if not len(segs):
            return np.zeros(0, np.int64)
        before = np.concatenate([[segs[0] if previous is None else previous], segs[:-1]])
        changed = np.flatnonzero(segs != before)
        return self.offsets[changed]
