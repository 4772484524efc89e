"""The dashboard server over real HTTP: the runs contract, charts, CSV, the event stream."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.store.sample_runs import write_sample_run
from tests.web.runs import write_bulk
from torchscope.store import RunWriter

Serve = Callable[..., Any]


def _runs(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in client.get("/api/runs").json()}


def test_runs_contract(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "a", name="alpha")
    write_bulk(tmp_path / "b", {("train", "loss"): (np.arange(10), np.arange(10.0))}, name="beta")
    client = httpx.Client(base_url=serve(tmp_path))
    rows = client.get("/api/runs").json()
    assert isinstance(rows, list) and len(rows) == 2
    for r in rows:
        assert {"id", "name", "status", "last_step"} <= set(r)
    by = {r["name"]: r for r in rows}
    assert by["alpha"]["last_step"] == 499 and by["beta"]["last_step"] == 9
    assert by["beta"]["status"] == "finished"  # closed (wall_time_s recorded)
    assert by["alpha"]["status"] == "finished"  # its RunWriter was closed
    loss = next(m for m in by["alpha"]["metrics"] if m["name"] == "loss" and m["split"] == "train")
    assert loss["points"] == 500 and loss["better"] == "min" and loss["best"] == loss["min"]
    assert str(tmp_path) not in json.dumps(rows)  # paths stay on the server


def test_chart_shares_one_x_range_and_counts_points(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "a", name="alpha")
    write_bulk(tmp_path / "b", {("train", "loss"): (np.arange(2000), np.ones(2000))}, name="beta")
    client = httpx.Client(base_url=serve(tmp_path))
    ids = {n: r["id"] for n, r in _runs(client).items()}
    body = client.get(
        "/api/chart",
        params={
            "metric": "loss",
            "runs": f"{ids['alpha']},{ids['beta']}",
            "width": 100,
        },
    ).json()
    assert (body["lo"], body["hi"]) == (0, 1999)
    got = {(s["run"], s["split"]): s for s in body["series"]}
    assert set(got) == {(ids["alpha"], "train"), (ids["alpha"], "val"), (ids["beta"], "train")}
    beta = got[(ids["beta"], "train")]
    assert (beta["points"], beta["raw"]) == (2000, False)
    assert sum(beta["segments"][0]["n"]) == 2000 and beta["shown"] <= 100
    val = got[(ids["alpha"], "val")]
    assert val["raw"] and val["points"] == 10 and val["segments"][0]["x"][0] == 49


def test_nan_and_inf_survive_json(tmp_path: Path, serve: Serve) -> None:
    vals = np.array([1.0, np.nan, np.inf, -np.inf, 2.0])
    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(5), vals)})
    client = httpx.Client(base_url=serve(tmp_path))
    rid = next(iter(_runs(client).values()))["id"]
    seg = client.get("/api/chart", params={"metric": "loss", "runs": rid}).json()["series"][0]
    seg = seg["segments"][0]
    assert seg["last"] == [1.0, None, None, None, 2.0]
    assert seg["nf"] == [[1, 1, 0, 0, 1], [2, 0, 1, 0, 2], [3, 0, 0, 1, 3]]


def test_csv_holds_every_raw_point_exactly(tmp_path: Path, serve: Serve) -> None:
    rng = np.random.default_rng(0)
    vals = rng.standard_normal(30_000)
    vals[7] = np.nan
    write_bulk(tmp_path / "r", {("train", "loss"): (np.arange(30_000), vals)}, chunk=7000)
    client = httpx.Client(base_url=serve(tmp_path))
    rid = next(iter(_runs(client).values()))["id"]
    r = client.get("/api/csv", params={"run": rid, "metric": "loss", "split": "train"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == "step,wall_time,value" and len(lines) == 30_001
    parsed = np.array([float(line.split(",")[2]) for line in lines[1:]])
    np.testing.assert_array_equal(parsed, vals)  # repr round-trips every float exactly


def test_layers_health_confusion_and_run_detail(tmp_path: Path, serve: Serve) -> None:
    sample = write_sample_run(tmp_path / "a")
    client = httpx.Client(base_url=serve(tmp_path))
    rid = next(iter(_runs(client).values()))["id"]
    detail = client.get("/api/run", params={"run": rid}).json()
    assert detail["layer_stats"]["grad"] == ["norm"] and detail["confusion"] == ["val"]
    heat = client.get("/api/layers", params={"run": rid, "kind": "grad", "stat": "norm"}).json()
    assert heat["layers"] == ["encoder.fc1", "encoder.fc2", "head"]
    assert heat["max"][0][0] == pytest.approx(sample.grad_norm(0, 0))
    cm = client.get("/api/confusion", params={"run": rid, "split": "val"}).json()
    assert cm["labels"] == ["cat", "dog", "bird"] and cm["steps"] == [499]
    assert np.asarray(cm["matrix"]).sum() == 200
    health = client.get("/api/health", params={"run": rid}).json()
    assert health["events"] == [] and isinstance(health["flags"], list)


def _events(lines: Iterator[str], wanted: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next ``wanted`` named events from the lines of an open SSE response."""
    out: list[dict[str, Any]] = []
    event: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    for line in lines:
        if line.startswith("event: "):
            event = {"event": line[7:]}
        elif line.startswith("id: "):
            event["id"] = line[4:]
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])
            out.append(event)
            if len(out) >= wanted:
                return out
        if time.monotonic() > deadline:
            break
    return out


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[RunWriter]:
    w = RunWriter(tmp_path / "live", run_name="live", flush_interval=0.05)
    for s in range(3):
        w.log_scalars(s, {"loss": float(s)})
    w.flush()
    yield w
    w.close()


def test_stream_sends_only_what_follows_the_chart_data(
    tmp_path: Path, serve: Serve, live_run: RunWriter
) -> None:
    client = httpx.Client(base_url=serve(tmp_path), timeout=10)
    run = _runs(client)["live"]
    series = client.get("/api/chart", params={"metric": "loss", "runs": run["id"]}).json()
    (s,) = series["series"]
    c, n = s["cursor"]
    assert n == 3  # the chart holds steps 0-2: three points of its last chunk
    params = {"runs": f"{run['id']}:{c}", "tails": f"{run['id']}~{s['sid']}~{c}~{n}"}
    with client.stream("GET", "/api/stream", params=params) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        live_run.log_scalars(3, {"loss": 30.0})
        live_run.flush()
        (first,) = _events(lines, 1)
        live_run.log_scalars(4, {"loss": 40.0})
        live_run.log_scalars(5, {"loss": float("inf")})
        live_run.flush()
        (second,) = _events(lines, 1)
    rows = [row for e in (first, second) for row in e["data"]["rows"]]
    steps = [st for row in rows for st in row["steps"]]
    assert steps == [3, 4, 5]  # nothing the chart had, nothing twice
    assert rows[0]["from"] == 3 and rows[0]["sid"] == s["sid"]  # the same chunk, grown
    assert rows[-1]["values"][-1] is None and rows[-1]["nf"] == [[len(rows[-1]["steps"]) - 1, 2]]
    assert first["event"] == "rows"


def test_stream_tells_about_runs_that_change(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "a", name="alpha")
    client = httpx.Client(base_url=serve(tmp_path), timeout=10)
    known = client.get("/api/runs").headers["x-generation"]
    with client.stream("GET", "/api/stream", params={"known": known}) as r:
        RunWriter(tmp_path / "new", run_name="newcomer").close()
        events = _events(r.iter_lines(), 1)
    assert events[0]["event"] == "runs"
    assert [row["name"] for row in events[0]["data"]] == ["newcomer"]


def test_open_streams_are_bounded(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "a")
    client = httpx.Client(base_url=serve(tmp_path, max_streams=1), timeout=10)
    with client.stream("GET", "/api/stream") as first:
        assert first.status_code == 200
        assert client.get("/api/stream").status_code == 503
    # the server frees the slot when it notices the closed stream: poll, never a fixed sleep
    deadline = time.monotonic() + 10
    while (status := _stream_status(client)) == 503 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status == 200


def _stream_status(client: httpx.Client) -> int:
    with client.stream("GET", "/api/stream") as response:
        return response.status_code


def test_a_damaged_store_is_listed_and_others_still_served(tmp_path: Path, serve: Serve) -> None:
    write_sample_run(tmp_path / "good", name="good")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.sqlite").write_bytes(b"not a database at all" * 100)
    client = httpx.Client(base_url=serve(tmp_path))
    runs = _runs(client)
    assert runs["good"]["status"] == "finished"
    bad = runs["bad"]
    assert bad["status"] == "unreadable" and bad["error"]
    assert client.get("/api/run", params={"run": bad["id"]}).status_code in (404, 422)
