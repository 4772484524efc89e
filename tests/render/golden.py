"""Golden text files, each checked against an invariant before it is compared.

As torchinfo's conftest does: every golden output must also add up (module rows sum to
their parent, tensor sizes to the total, table rows to the counts in the header), so a
golden file regenerated with a wrong number fails even when nobody reads the diff.
Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/render``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

GOLDEN = Path(__file__).parent.parent / "golden"
RULE = "─"


def check_golden(name: str, text: str, invariant: Callable[[str], None]) -> None:
    """``invariant(text)`` holds, and ``text`` equals ``tests/golden/<name>``."""
    invariant(text)
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def table_rows(text: str, header: str) -> list[str]:
    """The body lines of the first table whose header line starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(header))
    assert set(lines[start + 1].strip()) == {RULE}, "a header is followed by its rule"
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


_SI = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


def count(cell: str) -> float:
    """``203,530`` or ``203.53 K`` as a number."""
    number, _, prefix = cell.replace(",", "").partition(" ")
    return float(number) * _SI[prefix]


# --- summary: every module row's parameters are the sum of its children's ----------------

_SUMMARY_WIDE = re.compile(
    r"(?P<params>[\d,]+)\s+(?P<pct>[\d.]+)\s+(?P<macs>-|[\d.]+(?: [KMGTP])?)\s+"
    r"(?P<act>-|[\d.]+ (?:B|KiB|MiB|GiB|TiB))\s+(?P<train>yes|no|part|-)$"
)
_SUMMARY_NARROW = re.compile(
    r"(?P<params>[\d.]+(?: [KMGTP])?)\s+(?P<macs>-|[\d.]+(?: [KMGTP])?)\s+"
    r"(?P<act>-|[\d.]+ (?:B|KiB|MiB|GiB|TiB))$"
)


class _Row(NamedTuple):
    depth: int
    params: float
    repeat: int
    pct: float | None


def _summary_rows(text: str) -> list[_Row]:
    rows = []
    for line in table_rows(text, "Module (type)"):
        m = _SUMMARY_WIDE.search(line) or _SUMMARY_NARROW.search(line)
        assert m is not None, f"unparsed row: {line!r}"
        copies = re.search(r" ×(\d+)", line[: m.start()])
        pct = float(m["pct"]) if "pct" in m.groupdict() else None
        depth = (len(line) - len(line.lstrip(" "))) // 2
        rows.append(_Row(depth, count(m["params"]), int(copies[1]) if copies else 1, pct))
    return rows


def summary_invariant(text: str) -> None:
    """Each row's parameters = its children's (× the copies of a folded row); the root row
    = the ``Parameters … total`` line; percentages add up like the counts."""
    rows = _summary_rows(text)
    exact = rows[0].pct is not None  # the wide table prints exact counts
    for i, row in enumerate(rows):
        children = []
        for child in rows[i + 1 :]:
            if child.depth <= row.depth:
                break
            if child.depth == row.depth + 1:
                children.append(child)
        if not children:
            continue
        total = row.repeat * sum(c.params for c in children)
        assert total == pytest.approx(row.params, rel=0 if exact else 5e-3, abs=0 if exact else 10)
        if row.pct is not None:  # each printed percentage is off by up to 0.05
            slack = 0.05 * (len(children) * row.repeat + 1)
            pcts = row.repeat * sum(c.pct or 0.0 for c in children)
            assert pcts == pytest.approx(row.pct, abs=slack)
    stated = re.search(r"Parameters\s+([\d,]+) total", text)
    assert stated is not None
    assert int(stated[1].replace(",", "")) == pytest.approx(
        rows[0].params, rel=0 if exact else 5e-3
    )


# --- parameters: tensor sizes add up to the total, flags to their count -------------------

_SHAPE = re.compile(r"\s(?:f32|f16|bf16|f64|\S+) (?P<dims>\d+(?:×\d+)*|scalar)\s")


def report_invariant(text: str) -> None:
    """The tensor rows' sizes add up to ``Values N in T tensors``, and there are T rows;
    the health problems listed are as many as the header says."""
    sizes = []
    for line in table_rows(text, "Tensor"):
        if line.startswith(" "):
            continue  # the wrapped flags of the row above
        m = _SHAPE.search(line)
        assert m is not None, f"unparsed row: {line!r}"
        dims = m["dims"]
        sizes.append(1 if dims == "scalar" else math.prod(int(d) for d in dims.split("×")))
    stated = re.search(r"Values\s+([\d,]+) in (\d+) tensors", text)
    assert stated is not None
    assert (sum(sizes), len(sizes)) == (int(stated[1].replace(",", "")), int(stated[2]))
    problems = re.search(r"Health: (\d+) problem", text)
    listed = len(re.findall(r"^  (?:error|warning): ", text, flags=re.MULTILINE))
    assert listed == (int(problems[1]) if problems else 0)


def diff_invariant(text: str) -> None:
    """As many rows as tensors compared, most changed first, and (when ‖a‖ is shown) the
    overall relative change is the root-sum-square of the rows' changes over ‖a‖."""
    head = re.search(r"(\d+) tensors compared, (\d+) added, (\d+) removed, (\d+) reshaped", text)
    assert head is not None
    lines = table_rows(text, "Tensor (")
    assert len(lines) == int(head[1])
    for label, n in (("added", head[2]), ("removed", head[3]), ("reshaped", head[4])):
        assert len(re.findall(rf"^  {label}: ", text, flags=re.MULTILINE)) == min(int(n), 10)
    rel = [float(line.split()[-3]) for line in lines]  # ‖b−a‖/‖a‖, then Cosine and Max |Δ|
    assert rel == sorted(rel, reverse=True)
    header = next(line for line in text.splitlines() if line.startswith("Tensor ("))
    if "‖a‖ " not in header.replace("‖b−a‖/‖a‖", ""):
        return  # a narrow table dropped the ‖a‖ column
    norm_a = [float(line.split()[-4]) for line in lines]
    overall = math.sqrt(sum((r * a) ** 2 for r, a in zip(rel, norm_a)) / sum(a * a for a in norm_a))
    verdict = re.search(r"relative change ‖b−a‖/‖a‖ = (\S+)", text)
    if verdict is None:
        assert overall == 0 and "identical" in text
    else:
        assert float(verdict[1]) == pytest.approx(overall, rel=2e-3)


# --- run overview: scalar rows are consistent, the header's step span covers them --------


def overview_invariant(text: str) -> None:
    """Each scalar row has first and last within [min, max] and at least one point."""
    for line in table_rows(text, "split"):
        points, first, last, low, high = line.split()[-5:]
        assert int(points.replace(",", "")) > 0
        low_f, high_f = float(low), float(high)
        for value in (first, last):
            if value != "nan":
                assert low_f <= float(value) <= high_f
