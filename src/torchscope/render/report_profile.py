"""The report's compute profile section: where the time of a training step goes.

From a ``Profile`` given to ``torchscope.report(profile=...)``, or else the one a Monitor
stored in its run (``Monitor(..., profile_at=N)``, run metadata ``"profile"``): the step's
total and the share of it outside any module, the per-module table with repeated blocks
rolled up, the top modules and ops by self time, and the roofline and time-per-layer
figures as inline SVG. A stored profile is outside data: a malformed one is named in a
note, never shown half-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope.render.profile_text import fmt_ms, roll_up_line
from torchscope.render.units import fmt_bytes, fmt_si, plural

if TYPE_CHECKING:
    from markupsafe import Markup

    from torchscope.analysis.profile import Profile, ProfileRow
    from torchscope.render.report import Report
    from torchscope.render.report_page import Page
    from torchscope.store.reader import RunReader

__all__ = ["has_profile", "profile_section", "stored_profile"]

MAX_ROWS = 80  # of the module table; the rest is in the profile's JSON
TOP_K = 10
MAX_FIGURE_MODULES = 5000  # a stored profile larger than any real model's is not drawn
_FIGURE_CAPTIONS = {
    "roofline": "Roofline: each module's achieved forward FLOP/s against its arithmetic "
    "intensity (log-log; the larger the dot, the longer its forward), under the device's "
    "roof when its peak is known; the slowest modules are named.",
    "layer_times": "Time per layer: forward and backward milliseconds of each layer (the "
    "copies of the longest repeated block, or the top-level modules), median per step.",
}


def stored_profile(run: RunReader | None) -> tuple[Profile | None, int | None, str | None]:
    """The profile a Monitor stored in ``run``, the step it profiled, and a note when the
    stored value cannot be read as a profile."""
    from torchscope.analysis.profile import Profile

    value = run.meta_value("profile") if run is not None else None
    if value is None:
        return None, None, None
    if not isinstance(value, dict):
        return None, None, "The run's stored profile is not a profile: left out."
    try:
        profile = Profile.from_dict(value)
    except ValueError as exc:
        return None, None, f"The run's stored profile could not be read ({exc}): left out."
    step = value.get("step")
    return profile, step if isinstance(step, int) and not isinstance(step, bool) else None, None


def has_profile(report: Report) -> bool:
    """True when the report has a Profile or its run stored one."""
    if report.profile is not None:
        return True
    if report.run is None:
        return False
    from torchscope.render.report_training import open_run

    with open_run(report.run) as run:
        return run is not None and run.meta_value("profile") is not None


def profile_section(report: Report, page: Page) -> Markup | None:
    profile, step, note = report.profile, None, None
    origin = "given to the report"
    if profile is None:
        profile, step, note = stored_profile(page.run)
        at = f" at step {step:,}" if step is not None else ""
        origin = f"stored by the run's Monitor{at} (one real training step)"
    if profile is None:
        return page.render("profile.html.j2", profile=None, notes=[note] if note else [])
    page.use("profile_step", "self_time", "achieved_flops", "intensity", "roofline", "mfu")
    page.use("profile_memory")
    return page.render(
        "profile.html.j2",
        profile=True,
        where=_where(profile, origin),
        facts=_facts(profile),
        rows=[_row(profile, r) for r in profile.rows[:MAX_ROWS]],
        more_rows=max(0, len(profile.rows) - MAX_ROWS),
        roll_ups=[roll_up_line(r) for r in profile.rows if _is_roll_up(r)],
        top=_top(profile),
        ops=[[o.name, f"{o.calls:,}", fmt_ms(o.ms)] for o in profile.op_totals[:TOP_K]],
        figures=_figures(profile, page),
        notes=[note] if note else [],
    )


def _where(p: Profile, origin: str) -> str:
    what = "forward + backward" if p.backward else "forward only"
    return (
        f"{p.model} on {p.device_name or p.device} ({p.dtype}), {what}, median of "
        f"{p.repeat:,} profiled {plural(p.repeat, 'step')}; {origin}."
    )


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole > 0 else "–"


def _facts(p: Profile) -> list[list[str]]:
    """(figure, value) rows: the step, inside and outside modules, rate, MFU, cost."""
    rows = [
        ["step time", f"{fmt_ms(p.total_ms)} ms ± {fmt_ms(p.step.spread)} ms"],
        ["inside modules", f"{fmt_ms(p.attributed_ms)} ms ({_share(p.attributed_ms, p.total_ms)})"],
        ["outside any module", f"{fmt_ms(p.outside_ms)} ms ({_share(p.outside_ms, p.total_ms)})"],
        ["MACs per step", fmt_si(p.step_macs) if p.step_macs else "–"],
        ["achieved FLOP/s", fmt_si(p.achieved_flops, "FLOP/s") if p.achieved_flops else "–"],
        ["MFU", f"{p.mfu:.1%}" if p.mfu is not None else _no_peak(p)],
    ]
    if p.overhead is not None:
        rows.append(["profiled / unprofiled step", f"{p.overhead:.2f}×"])
    return rows


def _no_peak(p: Profile) -> str:
    return f"– (no peak FLOP/s known for {p.device_name or p.device}; give peak_tflops=)"


def _is_roll_up(r: ProfileRow) -> bool:
    return r.copy_mean_ms is not None and not r.per_copy


def _row(p: Profile, r: ProfileRow) -> list[str]:
    repeat = f" ×{r.repeat:,}" if r.repeat > 1 else ""
    return [
        f"{r.label or '(root)'} ({r.type}){repeat}",
        fmt_ms(r.forward_ms),
        fmt_ms(r.backward_ms) if p.backward else "–",
        fmt_ms(r.self_ms),
        _share(r.self_ms, p.total_ms),
        fmt_si(r.macs) if r.macs else "–",
        fmt_si(r.achieved_flops) if r.achieved_flops else "–",
        f"{r.intensity:.1f}" if r.intensity else "–",
        fmt_bytes(r.peak_bytes) if r.peak_bytes else "–",
        fmt_bytes(r.retained_bytes) if r.retained_bytes else "–",
    ]


def _top(p: Profile) -> list[list[str]]:
    return [
        [
            f"{m.name or '(root)'} ({m.type})",
            fmt_ms(m.self_ms),
            fmt_ms(m.total_ms),
            _share(m.self_ms, p.total_ms),
            ", ".join(f"{o.name} {fmt_ms(o.ms)}" for o in m.ops[:3]),
        ]
        for m in p.top(TOP_K)
    ]


def _figures(p: Profile, page: Page) -> list[dict[str, Any]]:
    if not p.modules or len(p.modules) > MAX_FIGURE_MODULES:
        return []
    from torchscope.render.profile_plots import profile_figures

    return [
        {"svg": page.figure(fig), "caption": _FIGURE_CAPTIONS.get(stem, stem)}
        for stem, fig in profile_figures(p).items()
    ]
