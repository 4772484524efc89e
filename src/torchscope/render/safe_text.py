"""Outside strings made safe to show: never markup, never terminal control sequences.

Names of tensors, modules, metrics, runs and config keys come from models, checkpoints and
run stores that someone else may have made. Shown as they are, ``[/]`` crashes rich
(``MarkupError``), ``[red]FAKE OK[/red]`` prints red, ``[link=…]`` makes a hyperlink, and an
ESC or OSC sequence moves the cursor or sets the terminal title. Every text renderer turns
such a string into a rich ``Text`` here (which rich never parses as markup), with control
characters shown as visible escapes (``\\x1b``); every HTML renderer escapes it here too.

Names that do not fit a column are shortened in the middle, so the distinguishing tail
(``…attn.c_attn.weight`` vs ``…attn.c_proj.weight``) stays visible; a column of names
first drops the dotted prefix that all its names share (``transformer.``).

Example:
    >>> visible("evil\\x1b]0;owned\\x07name")
    'evil\\\\x1b]0;owned\\\\x07name'
    >>> safe_text("[red]FAKE OK[/red]").plain
    '[red]FAKE OK[/red]'
    >>> shorten_middle("transformer.h.0.attn.c_proj.weight", 24)
    'trans…attn.c_proj.weight'
"""

from __future__ import annotations

import re
from html import escape

from rich.cells import cell_len, get_character_cell_size
from rich.text import Text

__all__ = ["ELLIPSIS", "html_text", "safe_text", "shorten_middle", "shorten_names", "visible"]

ELLIPSIS = "…"

# C0 and C1 controls and DEL (ESC, CSI, OSC, BEL, CR, newline, tab…), lone surrogates, and
# the invisible characters that reorder or split the line around them (bidi embeddings,
# overrides and isolates, line and paragraph separators).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` as one line with every control character shown as an escape (``\\x1b``)."""
    return _UNSAFE.sub(_escape_char, str(text))


def safe_text(text: object, style: str = "") -> Text:
    """A rich ``Text`` of an outside string: shown as it is written, never read as markup.

    Example:
        >>> safe_text("[link=https://x]click[/link]\\x1b[2J").plain
        '[link=https://x]click[/link]\\\\x1b[2J'
    """
    return Text(visible(text), style=style)


def html_text(text: object) -> str:
    """An outside string for HTML: control characters made visible, then HTML-escaped.

    Example:
        >>> html_text("<img src=x onerror=alert(1)>")
        '&lt;img src=x onerror=alert(1)&gt;'
    """
    return escape(visible(text))


def shorten_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells, cut in the middle: about a third of the
    room keeps the head and the rest the tail, where dotted names differ; the tail starts at
    a whole name part when the head can spare the room.

    Example:
        >>> shorten_middle("transformer.h.0.attn.c_attn.weight", 24)
        'trans…attn.c_attn.weight'
    """
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head, tail = _head_and_tail(text, width)
    return head + ELLIPSIS + tail


def _head_and_tail(text: str, width: int) -> tuple[str, str]:
    """The start and end of ``text`` that ``shorten_middle`` keeps around its ``…``."""
    room = max(0, width - 1)
    head = _take(text, room // 3)
    tail = _take_end(text, room - cell_len(head))
    start = len(text) - len(tail)  # where the tail begins in text
    part = max(text.rfind(".", 0, start), text.rfind("/", 0, start)) + 1
    spare = cell_len(text[part:start])
    if part and spare and cell_len(head) - spare >= max(3, room // 6):
        head = _take(head, cell_len(head) - spare)
        tail = text[part:]
    dot = head.rfind(".") + 1
    if dot >= 3 and len(head) - dot <= 3:  # end the head after a whole part: ``h.0.…``
        head = head[:dot]
    return head, tail


def shorten_names(names: list[str], width: int) -> list[str]:
    """A column of names in ``width`` cells each. A name too long first loses the dotted
    prefix the long names share (shown as ``…``), then is cut in the middle; when that would hide
    where it differs from its most similar neighbour (``c_attn`` vs ``c_proj`` followed by the
    same ``.weight.grad_norm``), the part that differs is kept and both sides of it are cut.

    Example:
        >>> names = [f"model.encoder.layers.{i}.attention.output.weight" for i in (0, 1)]
        >>> shorten_names(names, 28)
        ['…0.attention.output.weight', '…1.attention.output.weight']
        >>> parts = [(i, p) for i in (0, 1) for p in ("c_attn", "c_proj")]
        >>> gpt2 = [f"transformer.h.{i}.attn.{p}.weight" for i, p in parts]
        >>> shorten_names(gpt2, 20)
        ['…h.0.…c_attn.weight', '…h.0.…c_proj.weight', '…h.1.…c_attn.weight', '…h.1.…c_proj.weight']
    """
    shared = _shared_prefix([name for name in names if cell_len(name) > width])
    diverge = _divergence(names)
    return [_fit_name(name, shared, diverge[name], width) for name in names]


def _fit_name(name: str, shared: str, diverge: int, width: int) -> str:
    """``name`` whole if it fits; else less as many shared leading parts as it takes; else
    less all of them and cut around where it differs."""
    if cell_len(name) <= width:
        return name
    if not shared or width < 2:
        return _cut_around(name, diverge, width)
    start = 0
    while start < len(shared):
        start = shared.index(".", start) + 1
        if cell_len(name) - start < width:
            return ELLIPSIS + name[start:]
    cut = _cut_around(name[start:], max(0, diverge - start), width - 1)
    return cut if cut.startswith(ELLIPSIS) else ELLIPSIS + cut


def _divergence(names: list[str]) -> dict[str, int]:
    """Where each name first differs from the most similar other name (its sorted neighbours)."""
    ordered = sorted(set(names))
    out = {}
    for i, name in enumerate(ordered):
        near = ordered[max(0, i - 1) : i] + ordered[i + 1 : i + 2]
        out[name] = max((_common_prefix(name, other) for other in near), default=0)
    return out


def _common_prefix(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _cut_around(text: str, key: int, width: int) -> str:
    """``text`` in ``width`` cells, cut in the middle unless that hides ``text[key]``: then the
    name part holding it stays whole and the head and the tail around it are cut."""
    if cell_len(text) <= width:
        return text
    head, tail = _head_and_tail(text, width)
    shown = key < len(head) or key >= len(text) - len(tail)
    if shown or width < 3:
        return head + ELLIPSIS + tail
    part = max(text.rfind(".", 0, key), text.rfind("/", 0, key)) + 1
    end = min(i for i in (text.find(".", key), text.find("/", key), len(text)) if i >= 0)
    piece, after = text[part:end], text[end:]
    if cell_len(piece) > width - 2:
        return head + ELLIPSIS + tail
    room = width - cell_len(piece) - 1
    if cell_len(after) <= room:
        return _head(text[:part], room - cell_len(after)) + ELLIPSIS + piece + after
    room -= 1
    tail = _take_end(after, room - room // 3)
    return _head(text[:part], room - cell_len(tail)) + ELLIPSIS + piece + ELLIPSIS + tail


def _head(text: str, cells: int) -> str:
    """The start of ``text`` in ``cells``, ending after a dot when it can; nothing when under
    3 characters of it would show."""
    head = _take(text, cells)
    if head != text and head.rfind(".") >= 2:
        head = head[: head.rfind(".") + 1]
    return head if len(head) >= 3 else ""


def _shared_prefix(names: list[str]) -> str:
    """The dotted prefix every name has before its last part, less the last shared part when
    there are several (``encoder.layers.`` → ``encoder.``: ``…layers.3.fc`` reads better)."""
    if len(set(names)) < 2:
        return ""
    shared: list[str] = []
    for column in zip(*(name.split(".")[:-1] for name in names)):
        if len(set(column)) > 1:
            break
        shared.append(column[0])
    return "".join(part + "." for part in shared[: -1 if len(shared) > 1 else None])


def _take_end(text: str, cells: int) -> str:
    """The longest end of ``text`` that fits in ``cells`` terminal cells."""
    return _take(text[::-1], cells)[::-1]


def _take(text: str, cells: int) -> str:
    """The longest start of ``text`` that fits in ``cells`` terminal cells."""
    used = 0
    for i, char in enumerate(text):
        used += get_character_cell_size(char)
        if used > cells:
            return text[:i]
    return text
