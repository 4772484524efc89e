"""``torchscope serve`` and ``torchscope.serve()``: start, print the URL, refuse clearly."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import torchscope
from tests.store.sample_runs import write_sample_run
from torchscope.cli import main


def test_python_serve_returns_a_working_url_that_shows_inline(tmp_path: Path) -> None:
    write_sample_run(tmp_path / "a", name="alpha")
    url = torchscope.serve(tmp_path, port=0)
    try:
        assert isinstance(url, str) and url.startswith("http://127.0.0.1:")
        assert [r["name"] for r in httpx.get(url + "api/runs").json()] == ["alpha"]
        html = url._repr_html_()
        assert f'<iframe src="{url}"' in html
    finally:
        url.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "api/runs", timeout=2)


def test_cli_refuses_a_missing_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "/no/such/dir"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no such directory") and len(err.splitlines()) == 1


def test_cli_refuses_a_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: port {port} on 127.0.0.1 is in use") and "--port" in err


def test_cli_serves_and_prints_its_url(tmp_path: Path) -> None:
    write_sample_run(tmp_path / "a", name="alpha")
    proc = subprocess.Popen(
        [sys.executable, "-m", "torchscope.cli", "serve", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"torchscope dashboard of {tmp_path}: http://127.0.0.1:")
        url = line.split(": ", 1)[1].strip()
        assert httpx.get(url + "api/runs").json()[0]["name"] == "alpha"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
