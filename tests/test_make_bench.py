"""``make bench`` runs every benchmark script in benchmarks/ (a new one is not forgotten)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _make_variable(name: str) -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(rf"^{name} := (.*)$", text, flags=re.MULTILINE)
    assert match is not None, name
    return match.group(1).split()


def test_bench_lists_every_benchmark_script() -> None:
    listed = _make_variable("BENCHMARKS")
    scripts = {
        p.stem
        for p in (ROOT / "benchmarks").glob("*.py")
        if 'if __name__ == "__main__"' in p.read_text(encoding="utf-8")
    }
    assert len(listed) == len(set(listed))
    assert set(listed) == scripts
    assert {"profile_gpt2", "summary_inprocess", "evaluate_speed", "report_size"} <= scripts
