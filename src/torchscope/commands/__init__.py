"""CLI subcommands: one module each, exposing ``NAME``, ``HELP``, ``add_arguments`` and ``run``.

Commands are discovered: a new command is a new public module in this package, and
``cli.py`` stays untouched. ``ORDER`` only sets the order ``--help`` lists them in; it
names commands that exist, and a test holds it to that (nothing is listed before it is
written).
"""

from __future__ import annotations

import pkgutil

__all__ = ["ORDER", "command_names"]

ORDER = ["demo", "summary", "graph", "params", "diff", "runs", "plot", "profile", "report", "serve"]


def command_names() -> list[str]:
    """Names of the command modules present, in ``ORDER`` then alphabetical."""
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))
