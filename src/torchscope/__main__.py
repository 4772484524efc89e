"""``python -m torchscope …``: the ``torchscope`` command where its script is not on PATH."""

from __future__ import annotations

import sys

from torchscope.cli import main

if __name__ == "__main__":  # not when a tool (pytest's doctests) imports it
    sys.exit(main())
