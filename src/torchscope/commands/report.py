"""``torchscope report [SPEC|CHECKPOINT] [--run DIR] -o report.html``: one shareable page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from torchscope.commands._args import path_arg
from torchscope.commands._common import CODE_NOTE, add_model_arguments, error_console, status

NAME = "report"
HELP = "one self-contained HTML report of a model, its weights, its run and its evaluation"
DESCRIPTION = (
    "Write one HTML file that opens anywhere, offline, and makes no network request: the "
    "model's summary, drawing and interactive graph; its weights' statistics, health and "
    "spectral alpha (with a diff when two checkpoints are given); a monitored run's learning "
    "curves, layer heatmaps, distributions and health timeline; its evaluation; the "
    "configuration and environment; and what every number means. Any subset of model, "
    "checkpoints and run gives the sections it can. " + CODE_NOTE
)
SOURCE_HELP = (
    "a model spec (hf:GPT2LMHeadModel, package.module:Name, path/to/file.py:Name), or a "
    "checkpoint (.safetensors, .pt, .pth, .bin, a directory of shards) whose weights the "
    "report describes; optional when --run or --checkpoint is given"
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]

PROFILE_WARMUP, PROFILE_REPEAT = 2, 5  # a report's profile: a few steps, seconds for GPT-2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, spec_help=SOURCE_HELP, optional=True)
    parser.add_argument("--run", type=path_arg, metavar="DIR", help="a run written by a Monitor")
    parser.add_argument(
        "--checkpoint",
        type=path_arg,
        action="append",
        default=[],
        metavar="PATH",
        help="weights to describe instead of the model's; a second checkpoint (or a "
        "checkpoint SOURCE and one --checkpoint) adds their diff",
    )
    parser.add_argument(
        "--evaluation",
        type=path_arg,
        metavar="FILE",
        help="an evaluation saved by torchscope.evaluate (evaluation.json, or its folder)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="add a compute profile: the one the --run's Monitor stored (profile_at=), else "
        f"{PROFILE_REPEAT} training steps of SPEC profiled on the CPU before writing",
    )
    parser.add_argument("--title", help="the report's title (default: the model's name)")
    parser.add_argument(
        "--no-spectral",
        action="store_true",
        help="skip the spectral alpha of every weight matrix (faster for large models)",
    )
    parser.add_argument(
        "-o",
        "--out",
        type=path_arg,
        default="report.html",
        metavar="FILE",
        help="the HTML file to write (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from torchscope._api import report
    from torchscope.errors import UsageError
    from torchscope.sources.checkpoint import is_checkpoint_path

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"-o: a report is an HTML file, name it .html (got {args.out!r})")
    checkpoints = list(args.checkpoint)
    model: Any = None
    inputs: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if args.spec is not None and is_checkpoint_path(args.spec):
        checkpoints.insert(0, args.spec)
    elif args.spec is not None:
        import torch

        # a spec's weights are random: drawn from one seed, the same command gives the same file
        torch.manual_seed(0)
        model, positional, keywords = _model(args)
        options = {k: keywords.pop(k) for k in ("device", "dtype") if k in keywords}
        inputs = {"inputs": positional or keywords or None}
    if len(checkpoints) > 2:
        raise UsageError("give at most two checkpoints (SOURCE and --checkpoint count together)")
    if model is None and not checkpoints and args.run is None and args.evaluation is None:
        raise UsageError(
            "nothing to report: give a SOURCE (model spec or checkpoint), --run or --evaluation"
        )
    profiled = _profile(args, model, inputs.get("inputs"), options.get("dtype"))
    with status("building the report…"):
        result = report(
            model,
            **inputs,
            run=args.run,
            evaluation=args.evaluation,
            profile=profiled,
            checkpoint=checkpoints or None,
            title=args.title,
            config=None,
            spectral=not args.no_spectral,
            **options,
        )
        path = result.save(out)
    error_console().print(
        f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB): {', '.join(result.section_ids())}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return 0


def _model(args: argparse.Namespace) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    from torchscope.commands._common import load_model_and_inputs

    return load_model_and_inputs(args, need_inputs=False)


def _profile(args: argparse.Namespace, model: Any, inputs: Any, dtype: Any) -> Any:
    """With --profile: None when the run stored a profile (the report shows that one), else
    a profile of the spec's training steps on the CPU."""
    from torchscope.errors import UsageError

    if not args.profile or (args.run is not None and _run_has_profile(args.run)):
        return None
    if model is None:
        raise UsageError(
            "--profile measures a model: give a model SPEC, or a --run whose Monitor stored a "
            "profile (Monitor(..., profile_at=STEP))"
        )
    if inputs is None:
        raise UsageError("--profile runs the model: give its example inputs (--input-size …)")
    if args.device == "meta":
        raise UsageError("--profile measures real work: it cannot run a model built on meta")
    from torchscope._api import profile
    from torchscope.commands.profile import with_labels

    positional = inputs if isinstance(inputs, tuple) else ()
    keywords = inputs if isinstance(inputs, dict) else {}
    if args.spec.startswith("hf:"):  # language models get labels: the step computes a loss
        keywords = with_labels(model, keywords)
    steps = f"{PROFILE_WARMUP} warm-up and {PROFILE_REPEAT} profiled training steps"
    error_console().print(
        f"profiling {args.spec} on the CPU: {steps}", highlight=False, markup=False
    )
    with status(f"profiling {args.spec}…"):
        return profile(
            model, *positional, device="cpu", dtype=dtype, warmup=PROFILE_WARMUP,
            repeat=PROFILE_REPEAT, **keywords,
        )  # fmt: skip


def _run_has_profile(run_dir: str) -> bool:
    from torchscope.store.reader import RunReader

    with RunReader(run_dir) as reader:
        return reader.meta_value("profile") is not None
