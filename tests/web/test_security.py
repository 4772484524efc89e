"""The gate: foreign hosts and origins refused, the token enforced off loopback, nothing
read outside the served directories, nothing written, every response with its headers."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.store.sample_runs import write_sample_run
from torchscope.web.security import allowed_host_names, is_loopback

Serve = Callable[..., Any]
ROUTES = ["/", "/assets/dashboard.js", "/api/runs", "/api/run", "/api/chart", "/api/layers",
          "/api/health", "/api/histograms", "/api/confusion", "/api/csv", "/api/model",
          "/api/stream"]  # fmt: skip


@pytest.fixture
def served(tmp_path: Path, serve: Serve) -> tuple[httpx.Client, str]:
    write_sample_run(tmp_path / "runs" / "a", name="alpha")
    client = httpx.Client(base_url=serve(tmp_path / "runs"), timeout=5)
    return client, client.get("/api/runs").json()[0]["id"]


def test_every_response_carries_the_security_headers(served: tuple[httpx.Client, str]) -> None:
    client, rid = served
    for path, params in [("/", {}), ("/api/runs", {}), ("/api/chart", {"metric": "loss",
                         "runs": rid}), ("/api/run", {"run": "nope"})]:  # fmt: skip
        r = client.get(path, params=params)
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:6007", "192.0.2.1", "attacker"])
def test_a_foreign_host_header_is_refused(served: tuple[httpx.Client, str], host: str) -> None:
    client, _ = served
    for path in ROUTES:
        assert client.get(path, headers={"host": host}).status_code == 403, path


def test_loopback_names_are_served_whatever_the_port(served: tuple[httpx.Client, str]) -> None:
    client, _ = served  # an SSH tunnel may forward any local port
    for host in ["localhost:8080", "127.0.0.1:1", "[::1]:6007"]:
        assert client.get("/api/runs", headers={"host": host}).status_code == 200


def test_requests_from_other_sites_are_refused(served: tuple[httpx.Client, str]) -> None:
    client, _ = served
    assert client.get("/api/runs", headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get("/api/runs", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    own = client.get("/api/runs", headers={"origin": str(client.base_url).rstrip("/")})
    assert own.status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_nothing_but_reading(served: tuple[httpx.Client, str], method: str) -> None:
    client, _ = served
    assert client.request(method, "/api/runs").status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../web/app.py",
        "/assets/%2e%2e/%2e%2e/pyproject.toml",
        "/assets/..%2fapp.py",
        "/../../../../etc/passwd",
        "/api/../../etc/passwd",
        "/index.html",
        "/web/index.html",
        "/assets/viewer.js",
    ],
)
def test_no_path_from_a_request_reaches_a_file(served: tuple[httpx.Client, str], path: str) -> None:
    client, _ = served
    r = client.get(path)
    assert r.status_code == 404
    assert b"import" not in r.content and b"root:" not in r.content


@pytest.mark.parametrize(
    "run", ["../../etc/passwd", "/etc/passwd", "a/run.sqlite", "..", "0" * 16, "%2e%2e"]
)
def test_runs_are_only_catalog_ids(served: tuple[httpx.Client, str], run: str) -> None:
    client, _ = served
    for path in ["/api/run", "/api/csv", "/api/layers", "/api/model"]:
        r = client.get(path, params={"run": run, "metric": "loss", "kind": "grad", "stat": "norm"})
        assert r.status_code == 404, (path, run)


def test_a_symlink_out_of_the_served_directory_is_not_followed(
    tmp_path: Path, serve: Serve
) -> None:
    write_sample_run(tmp_path / "secret", name="secret")
    (tmp_path / "served").mkdir()
    os.symlink(tmp_path / "secret", tmp_path / "served" / "link")
    os.symlink(tmp_path / "secret" / "run.sqlite", tmp_path / "served" / "run.sqlite")
    client = httpx.Client(base_url=serve(tmp_path / "served"))
    assert client.get("/api/runs").json() == []


def test_work_per_request_is_bounded(served: tuple[httpx.Client, str]) -> None:
    client, rid = served
    too_wide = client.get("/api/chart", params={"metric": "loss", "runs": rid, "width": 10**9})
    assert too_wide.status_code == 400 and "between" in too_wide.json()["error"]
    many = ",".join(f"{i:016x}" for i in range(65))
    assert client.get("/api/chart", params={"metric": "loss", "runs": many}).status_code == 400
    long_name = client.get("/api/chart", params={"metric": "x" * 5000, "runs": rid})
    assert long_name.status_code == 400
    assert client.get("/api/chart", params={"metric": "loss", "runs": rid, "lo": "nan",
                                            "hi": "1"}).status_code == 400  # fmt: skip


def test_serving_changes_nothing_on_disk(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "runs" / "a")
    store = tmp_path / "runs" / "a" / "run.sqlite"
    before = store.read_bytes()
    client = httpx.Client(base_url=serve(tmp_path / "runs"))
    rid = client.get("/api/runs").json()[0]["id"]
    for path in ROUTES[:-1]:
        client.get(path, params={"run": rid, "metric": "loss", "kind": "grad", "stat": "norm"})
    assert store.read_bytes() == before
    conn = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_token_is_required_off_loopback(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "runs" / "a", name="alpha")
    url = serve(tmp_path / "runs", host="0.0.0.0")
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert len(token) >= 32
    port = urlsplit(url).port
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=5)
    for path in ROUTES:
        assert client.get(path).status_code == 401, path
    assert client.get("/", params={"token": "wrong"}).status_code == 403
    assert (
        client.get("/api/runs", headers={"cookie": "torchscope_token_0=wrong"}).status_code == 401
    )
    exchange = client.get("/", params={"token": token, "page": "runs"})
    assert exchange.status_code == 303
    assert exchange.headers["location"] == "/?page=runs"  # the token leaves the URL
    cookie = exchange.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token in cookie
    name = cookie.split("=", 1)[0]
    with_cookie = httpx.Client(base_url=base, timeout=5, cookies={name: token})
    assert with_cookie.get("/api/runs").status_code == 200
    with with_cookie.stream("GET", "/api/stream") as s:
        assert s.status_code == 200
    bearer = client.get("/api/runs", headers={"authorization": f"Bearer {token}"})
    assert bearer.status_code == 200


def test_no_token_on_loopback(served: tuple[httpx.Client, str]) -> None:
    client, _ = served
    assert client.get("/api/runs").status_code == 200


def test_host_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    names = allowed_host_names("127.0.0.1")
    assert {"127.0.0.1", "localhost", "::1"} <= names and "example.org" not in names
    assert "dash.example.org" in allowed_host_names("0.0.0.0", ["dash.example.org"])
