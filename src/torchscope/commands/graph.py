"""``torchscope graph SPEC -o FILE``: the model's structure as DOT, SVG, PNG, PDF, HTML or JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from torchscope.commands._args import bounded_int
from torchscope.commands._common import (
    add_model_arguments,
    error_console,
    load_model_and_inputs,
    status,
)

NAME = "graph"
HELP = "draw the model's structure (.svg .png .pdf .dot .html .json)"
DESCRIPTION = (
    "Run one forward pass and draw the module hierarchy as nested boxes, with tensor shapes "
    "on the edges and repeated blocks drawn once with a ×N badge. The format comes from the "
    "output's extension; .svg, .png and .pdf need Graphviz's `dot`. SPEC may also be a "
    "ModelGraph saved as .json."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write: .svg .png .pdf .dot .html or .json (default: DOT on stdout)",
    )
    parser.add_argument(
        "--depth",
        type=bounded_int(0, 1000),
        help="deepest module level drawn as a box (default: the deepest that fits ~30 nodes)",
    )
    parser.add_argument("--no-roll", action="store_true", help="draw repeated blocks one by one")
    trivial = parser.add_mutually_exclusive_group()
    trivial.add_argument(
        "--hide-trivial",
        dest="hide_trivial",
        action="store_true",
        default=True,
        help="contract views, reshapes, dropout in eval and constants (default)",
    )
    trivial.add_argument(
        "--show-trivial", dest="hide_trivial", action="store_false", help="draw every op"
    )
    parser.add_argument(
        "--color-by",
        metavar="WHAT",
        help="colour nodes by params, macs, activation, time (profiles training steps on the "
        "CPU first), or FILE.json mapping module → value",
    )
    parser.add_argument(
        "--direction", choices=("TB", "LR"), default="TB", help="top-to-bottom or left-to-right"
    )
    parser.add_argument("--title", help="title drawn above the graph (default: the model class)")


TIME = "time"
PROFILE_WARMUP, PROFILE_REPEAT = 1, 3  # enough to rank modules by time, seconds for GPT-2


def run(args: argparse.Namespace) -> int:
    from torchscope.errors import TraceError

    color_by = _color_by(args.color_by)
    try:
        if color_by == TIME:
            graph, color_by = _profiled_graph(args)
        else:
            graph = _load_graph(args)
    except TraceError as exc:  # draw what was captured; cli.main reports the error
        if exc.partial is not None:
            _emit(exc.partial, None if color_by == TIME else color_by, args)
        raise
    _emit(graph, color_by, args)
    return 0


def _color_by(value: str | None) -> str | dict[str, float] | None:
    """``params``/``macs``/``activation``/``time`` as given; else a JSON mapping file."""
    from torchscope.analysis.visible_graph import COLOR_BY

    if value is None or value in COLOR_BY or value == TIME:
        return value
    path = Path(value)
    if not path.is_file():
        raise ValueError(
            f"--color-by takes {', '.join(COLOR_BY)}, {TIME} or a JSON file of module name → "
            f"value; "
            f"{value!r} is neither"
        )
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError(f"{value}: JSON nested too deeply") from None
    except ValueError as exc:  # not UTF-8, or not JSON
        raise ValueError(f"{value}: not a JSON file ({exc})") from None
    if not isinstance(mapping, dict) or not all(_is_number(v) for v in mapping.values()):
        raise ValueError(f"{value}: expected a JSON object of module name → finite number")
    return {str(k): float(v) for k, v in mapping.items()}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _load_graph(args: argparse.Namespace) -> Any:
    """The ModelGraph to draw: read from a saved .json, or traced from the model spec."""
    from torchscope._api import trace

    if args.spec.endswith(".json") and Path(args.spec).is_file():
        return _read_graph(Path(args.spec))
    model, call_args, inputs = load_model_and_inputs(args)
    with error_console().status("tracing one forward pass…"):
        return trace(model, *call_args, **inputs)


def _profiled_graph(args: argparse.Namespace) -> tuple[Any, dict[str, float]]:
    """The graph of a profiled model and its modules' time (ms), for ``--color-by time``."""
    from torchscope._api import profile
    from torchscope.errors import UsageError

    if args.spec.endswith(".json"):
        raise UsageError("--color-by time measures the model: give a model SPEC, not a graph")
    if args.device == "meta":
        raise UsageError("--color-by time measures real steps: it cannot run a model on meta")
    model, call_args, inputs = load_model_and_inputs(args)
    device = inputs.pop("device", None) or "cpu"
    steps = f"{PROFILE_WARMUP} warm-up and {PROFILE_REPEAT} profiled training steps"
    error_console().print(
        f"profiling {args.spec} on {device} to colour by time: {steps}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    with error_console().status("profiling training steps…"):
        result = profile(
            model, *call_args, device=device, warmup=PROFILE_WARMUP, repeat=PROFILE_REPEAT,
            **inputs,
        )  # fmt: skip
    return result.graph, result.time_by_module()


def _read_graph(path: Path) -> Any:
    """A ModelGraph saved as JSON; anything else there is one clear error."""
    from torchscope.model.graph import ModelGraph

    try:
        return ModelGraph.from_json(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path} is not a saved ModelGraph: {type(exc).__name__}: {exc}") from exc


def _emit(graph: Any, color_by: str | dict[str, float] | None, args: argparse.Namespace) -> None:
    from torchscope._api import draw

    view = draw(
        graph,
        depth=args.depth,
        roll=not args.no_roll,
        hide_trivial=args.hide_trivial,
        color_by=color_by,
        direction=args.direction,
        title=args.title,
    )
    if args.output is None:
        sys.stdout.write(view.to_dot())
        return
    with status(f"writing {args.output}…"):
        path = view.save(args.output)
    error_console().print(f"wrote {path} ({view})", highlight=False, markup=False, soft_wrap=True)
