"""Fixtures shared by several test folders (each imports what it needs in its conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread() -> Iterator[None]:
    """One torch thread for the test, restored afterwards.

    Small CPU steps: with other processes busy, 2 OpenMP threads spin-wait and a step takes
    50x longer; one thread keeps these tests fast and their numbers unchanged.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
