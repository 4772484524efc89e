"""The report's compute profile section: from a Profile, from its JSON, from the profile a
Monitor stored in its run, and from ``torchscope report --profile``; escaping and bytes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

import torchscope
from tests.models import MLP, Stack
from tests.render.report_runs import SCRIPT
from torchscope.analysis.profile import Profile
from torchscope.render.profile_text import fmt_ms
from torchscope.render.report_profile import MAX_ROWS, TOP_K
from torchscope.store.reader import RunReader
from torchscope.store.writer import RunWriter


@pytest.fixture(scope="module")
def profile() -> Profile:
    torch.manual_seed(0)
    return torchscope.profile(Stack(), input_size=(8, 16), warmup=1, repeat=2)


@pytest.fixture(scope="module")
def monitored_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three steps of MLP training under a Monitor that profiles step 1."""
    path = tmp_path_factory.mktemp("profiled") / "run"
    torch.manual_seed(0)
    net = MLP()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with torchscope.Monitor(net, opt, logdir=str(path), profile_at=1,
                            example_input=(torch.randn(4, 20),)) as mon:  # fmt: skip
        for step in range(3):
            loss = net(torch.randn(4, 20)).square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            mon.log(step, loss=loss)
    return path


def section(html: str) -> str:
    start = html.index('<section id="profile"')
    return html[start : html.index("</section>", start)]


def cells(html: str, caption: str) -> list[list[str]]:
    """The body cells of the table with this caption, text only."""
    start = html.index(f"<caption>{caption}")
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]


def facts(html: str) -> dict[str, str]:
    table = html[html.index('class="ts-table ts-metrics"') :]
    table = table[: table.index("</table>")]
    return dict(re.findall(r"<tr><td>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", table))


def test_a_profile_gives_its_section_tables_and_figures(profile: Profile) -> None:
    r = torchscope.report(profile=profile)
    assert r.section_ids() == ["summary", "profile", "environment", "appendix"]
    html = r.to_html()
    part = section(html)
    assert "<h2>Compute profile</h2>" in part
    shown = facts(part)
    assert shown["step time"] == f"{fmt_ms(profile.total_ms)} ms ± {fmt_ms(profile.step.spread)} ms"
    outside = profile.outside_ms / profile.total_ms
    assert shown["outside any module"] == f"{fmt_ms(profile.outside_ms)} ms ({outside:.1%})"
    assert shown["MFU"].startswith("– (no peak FLOP/s known for cpu")
    rows = cells(part, "Per module, in model order")
    assert len(rows) == min(len(profile.rows), MAX_ROWS)
    assert [row[0] for row in rows][:2] == ["Stack (Stack)", "layers.0-4 (Sequential) ×5"]
    assert rows[1][3] == fmt_ms(profile.rows[1].self_ms)
    top = cells(part, "Top modules by self time")
    assert [row[0] for row in top] == [
        f"{m.name or '(root)'} ({m.type})" for m in profile.top(TOP_K)
    ]
    assert part.count("<svg") == 2  # the roofline and the time per layer, inline
    assert "layers.0-4 ×5:" in part  # the roll-up line: mean ± spread per copy
    appendix = html[html.index('<section id="appendix"') :]
    for name in ("MFU (model FLOPs utilisation)", "Arithmetic intensity", "Roofline",
                 "Self and inclusive time", "Step time and time outside modules"):  # fmt: skip
        assert f"<dt>{name}</dt>" in appendix


def test_its_json_gives_the_same_page_and_two_builds_the_same_bytes(
    profile: Profile, tmp_path: Path
) -> None:
    saved = tmp_path / "profile.json"
    saved.write_text(profile.to_json())
    page = torchscope.report(profile=profile, title="p").to_html()
    assert torchscope.report(profile=saved, title="p").to_html() == page
    again = torchscope.report(profile=profile, title="p").save(tmp_path / "again.html")
    assert again.read_bytes() == page.encode("utf-8")


def test_the_profile_a_monitor_stored_is_shown(monitored_run: Path) -> None:
    with RunReader(monitored_run) as reader:
        stored = Profile.from_dict(reader.meta()["profile"])
    r = torchscope.report(run=monitored_run)
    assert "profile" in r.section_ids() and r.profile is None
    html = r.to_html()
    part = section(html)
    assert "stored by the run&#39;s Monitor at step 1 (one real training step)" in part
    assert facts(part)["step time"].startswith(f"{fmt_ms(stored.total_ms)} ms")
    names = [row[0] for row in cells(part, "Top modules by self time")]
    assert names == [f"{m.name or '(root)'} ({m.type})" for m in stored.top(TOP_K)]
    assert torchscope.report(run=monitored_run).to_html() == html


def test_a_given_profile_wins_over_the_stored_one(profile: Profile, monitored_run: Path) -> None:
    part = section(torchscope.report(run=monitored_run, profile=profile).to_html())
    assert "given to the report" in part and "Stack on cpu" in part


def _hostile(profile: Profile) -> dict[str, Any]:
    data = profile.to_dict()
    data["model"] = SCRIPT
    for m in data["modules"]:
        m["name"] = f"{m['name']}{SCRIPT}"
        m["ops"] = [{**o, "name": SCRIPT} for o in m["ops"]]
    for row in data["rows"]:
        row["label"] = SCRIPT
    data["ops"] = [{**o, "name": SCRIPT} for o in data["ops"]]
    return data


def test_a_stored_profile_is_outside_data(profile: Profile, tmp_path: Path) -> None:
    hostile, broken = tmp_path / "hostile", tmp_path / "broken"
    with RunWriter(hostile, run_name="h") as w:
        w.set_meta("profile", {"step": 3, **_hostile(profile)})
    html = torchscope.report(run=hostile).to_html()
    assert SCRIPT not in html and "<img" not in html
    part = section(html)
    assert part.count("&lt;script&gt;top[&#39;__pwned&#39;]=1&lt;/script&gt;") > 10
    assert len(re.findall(r"<script\b", html)) == 2  # the page's data and code only
    with RunWriter(broken, run_name="b") as w:
        w.set_meta("profile", {"model": "x", "modules": "not a list"})
    page = torchscope.report(run=broken).to_html()
    assert "The run&#39;s stored profile could not be read" in section(page)
    assert "<table" not in section(page)


def test_report_command_profiles_the_spec_or_reads_the_run(
    monitored_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from torchscope.cli import main

    out = tmp_path / "r.html"
    assert main(["report", "tests.models:MLP", "--input-size", "4,20", "--no-spectral",
                 "--profile", "-o", str(out)]) == 0  # fmt: skip
    assert (
        "profiling tests.models:MLP on the CPU: 2 warm-up and 5 profiled" in capsys.readouterr().err
    )
    part = section(out.read_text(encoding="utf-8"))
    assert "MLP on cpu (float32), forward + backward, median of 5 profiled steps" in part
    assert [row[0] for row in cells(part, "Per module, in model order")][1:] == [
        "fc1 (Linear)", "act (ReLU)", "fc2 (Linear)"
    ]  # fmt: skip
    from_run = tmp_path / "run.html"
    assert main(["report", "--run", str(monitored_run), "--profile", "-o", str(from_run)]) == 0
    assert "profiling" not in capsys.readouterr().err  # the run's own profile, not measured
    assert "at step 1" in section(from_run.read_text(encoding="utf-8"))
    plain = tmp_path / "plain.html"
    assert main(["report", "tests.models:MLP", "--input-size", "4,20", "--no-spectral",
                 "-o", str(plain)]) == 0  # fmt: skip
    assert 'id="profile"' not in plain.read_text(encoding="utf-8")


def test_report_profile_needs_a_model_or_a_stored_profile(tmp_path: Path) -> None:
    from torchscope.cli import main

    run = tmp_path / "run"
    with RunWriter(run, run_name="r") as w:
        w.log_scalars(0, {"loss": 1.0})
    assert main(["report", "--run", str(run), "--profile", "-o", str(tmp_path / "r.html")]) == 2
