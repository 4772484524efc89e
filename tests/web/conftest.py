"""A real dashboard server on 127.0.0.1 (uvicorn in a thread, a free port) per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from torchscope.web.app import DashboardConfig
from torchscope.web.server import DashboardURL, serve_in_background

if not (Path(__file__).parents[2] / "src/torchscope/web/assets/dashboard.js").exists():
    pytest.skip("dashboard bundle not built: run `make frontend`", allow_module_level=True)


@pytest.fixture
def serve() -> Iterator[Callable[..., DashboardURL]]:
    """Start a server on the given directories; every one started is stopped afterwards."""
    started: list[DashboardURL] = []

    def start(*logdirs: Path, **options: Any) -> DashboardURL:
        options.setdefault("port", 0)
        options.setdefault("refresh_s", 0.1)
        url = serve_in_background(DashboardConfig(list(logdirs), **options))
        started.append(url)
        return url

    yield start
    for url in started:
        url.stop()
