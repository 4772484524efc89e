"""``torchscope serve [LOGDIR …]``: the live dashboard of every run under the directories."""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from torchscope.commands._args import bounded_float, bounded_int, path_arg

NAME = "serve"
HELP = "live dashboard in the browser: every run under LOGDIR, updated as it trains"
DESCRIPTION = """\
Serve a live dashboard of every run found under the LOGDIRs (default ./runs; runs that
appear later are picked up without a restart) and print its URL. The page updates while
the runs train: scalars, layer statistics, distributions, health, evaluation and the
model's structure. It reads the stores only (never writes, deletes or runs anything).

By default it listens on 127.0.0.1, so only this machine can open it. To look at a
remote training machine, tunnel the port over SSH from your own computer:

  ssh -N -L 6007:127.0.0.1:6007 user@training-host     # then open http://127.0.0.1:6007/

Any other --host (e.g. 0.0.0.0 on a trusted network) requires a secret token: it is
printed in the URL, and the page keeps it in a cookie after the first visit.

  torchscope serve runs/
  torchscope serve runs/ other_runs/ --port 8080 --open"""

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "logdirs",
        nargs="*",
        type=path_arg,
        metavar="LOGDIR",
        help="folders holding runs (default: ./runs)",
    )
    parser.add_argument(
        "--port",
        type=bounded_int(0, 65535),
        help="port to listen on (default 6007, or the next free one; 0: any free port)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other requires the printed token)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name the page may be reached by (e.g. behind a proxy); repeatable",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.add_argument(
        "--stale-after",
        type=bounded_float(1.0, 1e9),
        default=120.0,
        metavar="SECONDS",
        help="an unclosed run not written for this long is shown as crashed (default 120)",
    )


def run(args: argparse.Namespace) -> int:
    from torchscope.web.app import DashboardConfig
    from torchscope.web.server import serve_forever

    logdirs = [Path(d) for d in (args.logdirs or ["runs"])]
    missing = [str(d) for d in logdirs if not d.exists()]
    if args.logdirs and len(missing) == len(logdirs):
        raise FileNotFoundError(f"no such directory: {', '.join(missing)}")
    config = DashboardConfig(
        logdirs, host=args.host, port=args.port, allow_hosts=args.allow_host,
        stale_after=args.stale_after,
    )  # fmt: skip

    def ready(url: str) -> None:
        where = ", ".join(str(d) for d in logdirs)
        print(f"torchscope dashboard of {where}: {url}", flush=True)
        if missing:
            print(f"(waiting for {', '.join(missing)} to appear)", flush=True)
        if args.open:
            webbrowser.open(url)

    serve_forever(config, on_ready=ready)  # errors (a port in use) end in cli.main's one line
    return 0
