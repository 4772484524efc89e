"""How the ``torchscope`` command ends on an error: one line on stderr and an exit status.

Commands raise; ``cli.main`` hands every exception to ``report_error`` here, so the mapping
from exception to exit status is written once, not once per command. The line names what
is wrong in the user's terms; ``--debug`` adds the traceback above it.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import traceback

from torchscope.errors import TorchscopeError, TraceError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STATUS_HELP",
    "EXIT_USAGE",
    "exit_status",
    "one_line",
    "report_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXIT_STATUS_HELP = """exit status:
  0    success
  1    the work failed: a forward pass raised (what was captured is still shown), a run
       holds nothing to plot, or an unexpected error (--debug shows its traceback)
  2    bad usage or input: an unknown option or bad value, a spec, checkpoint, graph, run
       or file that cannot be read or built, an input over a stated limit, a missing tool
  130  interrupted (Ctrl-C)
every error is one line on stderr; --debug prints the traceback before it"""

# Errors whose cause is what the user gave (a path, a value, a file's content).
_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # TorchscopeError's input errors, JSON, Unicode decoding…
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    sqlite3.DatabaseError,  # a file that is no run store, or a damaged one
    RecursionError,  # input nested deeper than Python's stack
)
_MAX_CHARS = 1000  # a 100k-character module name must not become a 100k-character line
_ERRNO = re.compile(r"^\[Errno \d+\] ")


def exit_status(exc: BaseException) -> int:
    """The exit status for an exception that ended a command (see ``EXIT_STATUS_HELP``)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, TraceError):
        return EXIT_FAILED
    if isinstance(exc, (TorchscopeError, *_INPUT_ERRORS)):
        return EXIT_USAGE
    return EXIT_FAILED


def describe(exc: BaseException) -> str:
    """What went wrong, in one line: the message of our own errors, else type and message."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = _ERRNO.sub("", str(exc).strip())
    if isinstance(exc, MemoryError):
        return "out of memory" + (f": {text}" if text else "")
    if isinstance(exc, RecursionError):
        return f"input nested too deeply to read ({text or 'RecursionError'})"
    if isinstance(exc, sqlite3.DatabaseError):
        return f"not a readable torchscope run store ({text or type(exc).__name__})"
    if isinstance(exc, (TorchscopeError, ValueError, OSError)) and text:
        return text
    name = type(exc).__name__
    message = f"{name}: {text}" if text else name
    if exit_status(exc) == EXIT_FAILED and not isinstance(exc, TorchscopeError):
        message += " (run with --debug for the traceback)"
    return message


def one_line(text: str, limit: int = _MAX_CHARS) -> str:
    """``text`` on one line, control and bidi characters escaped, at most ``limit`` characters.

    Example:
        >>> one_line("bad name 'a\\x1b]0;owned\\x07'\\nsecond line")
        "bad name 'a\\\\x1b]0;owned\\\\x07' second line"
    """
    from torchscope.render.safe_text import visible

    safe = visible(" ".join(text.split()))
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def report_error(exc: BaseException, debug: bool = False) -> int:
    """Print ``exc`` as one ``error:`` line on stderr (after its traceback if ``debug``)."""
    from rich.text import Text

    from torchscope.commands._common import error_console

    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    line = Text.assemble(("error: ", "bold red"), one_line(describe(exc)))
    error_console().print(line, soft_wrap=True, highlight=False)
    return exit_status(exc)
