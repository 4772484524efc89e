"""How long ``torchscope demo`` takes from start to report: wall time and CPU time.

Goal (issue 13): under a minute on 2 CPU cores. Runs the command in a fresh process into a
temporary folder (``--repeat`` times) and prints each run's wall and CPU seconds, the
machine's load before and after, and the final test accuracy the demo printed.

    .venv/bin/python benchmarks/demo_time.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time


def one_run() -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and the digest's first line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "torchscope.cli", "demo", "-o", out, "--width", "200"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"final test accuracy .*", done.stdout)
    return wall, cpu, found.group(0) if found else "(no digest)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load before: {os.getloadavg()[0]:.1f}")
    for i in range(args.repeat):
        wall, cpu, digest = one_run()
        print(f"run {i + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU · {digest}")
    print(f"load after: {os.getloadavg()[0]:.1f} (goal: under 60 s wall on 2 cores)")


if __name__ == "__main__":
    main()
