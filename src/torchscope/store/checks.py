"""What a logging call accepts: steps, names and values are checked at the call.

A run store keeps every point, so an item it cannot keep must be refused where it is
logged, with an error naming it, and never reach the writer thread, where it would fail
the whole transaction and take the good points committed with it.

The accepted set:

* **step**: an integer in the signed 64-bit range (``-2**63 … 2**63 - 1``); a float is
  accepted only when it is a whole number (``3.0`` is step 3, ``2.5`` is refused), never
  truncated; ``bool`` is refused.
* **name** (metric, split, layer, statistic, histogram, event kind, metadata key, tag,
  label): a non-empty ``str`` of at most ``NAME_MAX`` characters, every one printable in
  the sense of ``str.isprintable`` — letters, marks, digits, punctuation, symbols and the
  ASCII space; no control characters (newline, tab, ESC…), format characters (bidi
  overrides), other separators, lone surrogates or unassigned code points. Names are data:
  ``/``, ``..``, quotes and brackets are kept as they are, so every consumer (file names,
  markup, HTML) escapes them.
* **value**: a real number (``int``, ``float``, numpy or torch scalar, anything with
  ``__float__``); NaN and ±inf are kept; a complex number, a number beyond float64, a
  string or a tensor of more than one element is refused.
* **wall time**: a value as above that is finite (seconds since the epoch).
* **histogram edges and counts**: one-dimensional sequences of real numbers.
* **confusion matrix**: a non-empty square matrix of whole counts in ``0 … 2**63-1``
  (integers, or floats that are whole numbers).
* **event payload, metadata value**: anything ``json.dumps`` writes (an event payload's
  other objects as their ``str``).

Example:
    >>> check_step(3.0), check_name("val/loss", "scalar name")
    (3, 'val/loss')
    >>> check_step(2.5)
    Traceback (most recent call last):
    ...
    torchscope.errors.LogValueError: step 2.5 is not a whole number (steps are integers)
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

from torchscope.errors import LogValueError

__all__ = [
    "NAME_MAX",
    "NOTE_MAX",
    "STEP_MAX",
    "STEP_MIN",
    "check_counts",
    "check_json",
    "check_name",
    "check_note",
    "check_number",
    "check_step",
    "check_vector",
    "check_wall_time",
    "printable_name",
]

STEP_MIN, STEP_MAX = -(2**63), 2**63 - 1
NAME_MAX = 4096  # characters; bounded so a store never makes a reader draw megabytes of name
NOTE_MAX = 65536


def check_step(step: Any) -> int:
    """The step as an ``int`` in the store's 64-bit range, or ``LogValueError``."""
    if isinstance(step, bool | np.bool_):
        raise LogValueError(f"step {step!r} is a bool, not an integer")
    if isinstance(step, float | np.floating):
        if not (math.isfinite(step) and float(step).is_integer()):
            raise LogValueError(f"step {step!r} is not a whole number (steps are integers)")
        step = int(step)
    else:
        try:
            step = operator.index(step)
        except TypeError:
            raise LogValueError(
                f"step {_short(step)} is a {type(step).__name__}, not an integer"
            ) from None
    if not STEP_MIN <= step <= STEP_MAX:
        raise LogValueError(f"step {step} is outside the range the store keeps (-2**63 … 2**63-1)")
    return int(step)


def check_name(name: Any, what: str) -> str:
    """``name`` if it is a name the store accepts (see the module docstring), else an error."""
    if not isinstance(name, str):
        raise LogValueError(f"{what} {_short(name)} is a {type(name).__name__}, not a str")
    if name.isprintable() and 0 < len(name) <= NAME_MAX:
        return name
    if not name:
        raise LogValueError(f"{what} is empty")
    if len(name) > NAME_MAX:
        raise LogValueError(f"{what} {_short(name)} is {len(name)} characters (at most {NAME_MAX})")
    bad = next(c for c in name if not c.isprintable())
    raise LogValueError(
        f"{what} {_short(name)} holds the non-printable character {bad!a}: names are "
        "printable text (no control or format characters, no lone surrogates)"
    )


def check_note(note: Any) -> str:
    """A free-text note: printable text plus newlines and tabs, at most ``NOTE_MAX`` chars."""
    if not isinstance(note, str):
        raise LogValueError(f"note {_short(note)} is a {type(note).__name__}, not a str")
    if len(note) > NOTE_MAX:
        raise LogValueError(f"note is {len(note)} characters (at most {NOTE_MAX})")
    for line in note.replace("\t", " ").splitlines():
        if not line.isprintable():
            bad = next(c for c in line if not c.isprintable())
            raise LogValueError(f"note holds the non-printable character {bad!a}")
    return note


def check_number(value: Any, what: str) -> Any:
    """A loggable number: a ``float``, or a one-element tensor left for the writer thread.

    Tensors are not converted here, so logging one never waits for its device.
    """
    if type(value) is float:
        return value
    if isinstance(value, complex | np.complexfloating):
        raise LogValueError(f"{what} is complex ({value!r}); log its real part or abs()")
    numel = getattr(value, "numel", None)
    if callable(numel) and hasattr(value, "is_complex"):  # a torch tensor
        if numel() != 1:
            shape = tuple(getattr(value, "shape", ()))
            raise LogValueError(f"{what} is a tensor of shape {shape}, not one number")
        if value.is_complex():
            raise LogValueError(f"{what} is a complex tensor; log its real part or abs()")
        return value
    if isinstance(value, str | bytes) or not hasattr(value, "__float__"):
        raise LogValueError(f"{what} is a {type(value).__name__}, not a number: {_short(value)}")
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError) as exc:
        raise LogValueError(f"{what} {_short(value)} is not a float64 number: {exc}") from None


def printable_name(name: str) -> str:
    """``name`` made acceptable to ``check_name``: non-printables escaped, length capped.

    For names the monitor takes from a model (module and parameter names), which are not
    the caller's to fix: they are kept readable instead of refused.

    Example:
        >>> printable_name("fc\\x1b[31m")
        'fc\\\\x1b[31m'
    """
    out = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in name) or "?"
    return out if len(out) <= NAME_MAX else out[: NAME_MAX - 1] + "…"


def _short(value: Any, limit: int = 80) -> str:
    """``ascii(value)`` cut to ``limit`` characters: safe to print, bounded in size."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_mapping(value: Any, what: str) -> Mapping[Any, Any]:
    """``value`` if it is a dict-like mapping, else LogValueError (not a bare AttributeError)."""
    if not isinstance(value, Mapping):
        raise LogValueError(f"{what} must be a dict, not a {type(value).__name__}")
    return value


def check_wall_time(t: Any) -> float:
    """A point's wall-clock time: a finite number of seconds, as a float."""
    value = check_number(t, "wall_time")
    if not isinstance(value, float):
        value = float(value)
    if not np.isfinite(value):
        raise LogValueError(f"wall_time {value} is not a finite number of seconds")
    return value


def check_vector(values: Any, what: str) -> np.ndarray:
    """A 1-D float64 array of real numbers, or ``LogValueError``."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise LogValueError(f"{what} are not real numbers: {exc}") from None
    if a.ndim != 1:
        raise LogValueError(f"{what} have shape {a.shape}, not one dimension")
    return a


def check_counts(matrix: Any, split: str) -> list[list[int]]:
    """A square matrix of non-negative whole counts as nested ints, or ``LogValueError``."""
    try:
        m = np.asarray(matrix)
    except (TypeError, ValueError, OverflowError) as exc:
        raise LogValueError(f"confusion {split!r}: not a matrix of counts: {exc}") from None
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise LogValueError(f"confusion {split!r}: shape {m.shape}, not a square matrix")
    if m.dtype.kind == "f":  # whole floats are counts (3.0 is 3); anything else is refused
        if not (np.isfinite(m).all() and (m == np.round(m)).all() and (m < 2.0**63).all()):
            raise LogValueError(f"confusion {split!r}: counts must be whole 64-bit numbers")
    elif m.dtype.kind not in "iub":
        raise LogValueError(f"confusion {split!r}: counts of type {m.dtype}, not numbers")
    rows = [[int(x) for x in row] for row in m.tolist()]
    if any(x < 0 or x >= 2**63 for row in rows for x in row):
        raise LogValueError(f"confusion {split!r}: counts must be in 0 … 2**63-1")
    return rows


def check_json(value: Any, what: str, default: Any = None) -> str:
    """``value`` as JSON text (``default`` as ``json.dumps`` takes it), or ``LogValueError``."""
    try:
        return json.dumps(value, default=default)
    except (TypeError, ValueError, RecursionError) as exc:
        raise LogValueError(f"{what!r}: value is not JSON serializable: {exc}") from None
