"""Outside strings made safe to show: never markup, never terminal control sequences.

Names of tensors, modules, metrics, runs and config keys come from models, checkpoints and
run stores that someone else may have made. Shown as they are, ``[/]`` crashes rich
(``MarkupError``), ``[red]FAKE OK[/red]`` prints red, ``[link=…]`` makes a hyperlink, and an
ESC or OSC sequence moves the cursor or sets the terminal title. Every text renderer turns
such a string into a rich ``Text`` here (which rich never parses as markup), with control
characters shown as visible escapes (``\\x1b``); every HTML renderer escapes it here too.

Names that do not fit a column are shortened in the middle, so the distinguishing tail
(``…attn.c_attn.weight`` vs ``…attn.c_proj.weight``) stays visible.

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

__all__ = ["ELLIPSIS", "html_text", "safe_text", "shorten_middle", "visible"]

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
    room = width - 1
    head = _take(text, room // 3)
    tail = _take(text[::-1], room - cell_len(head))[::-1]
    start = len(text) - len(tail)  # where the tail begins in text
    part = max(text.rfind(".", 0, start), text.rfind("/", 0, start)) + 1
    spare = cell_len(text[part:start])
    if part and spare and cell_len(head) - spare >= max(3, room // 6):
        head = _take(head, cell_len(head) - spare)
        tail = text[part:]
    return head + ELLIPSIS + tail


def _take(text: str, cells: int) -> str:
    """The longest start of ``text`` that fits in ``cells`` terminal cells."""
    used = 0
    for i, char in enumerate(text):
        used += get_character_cell_size(char)
        if used > cells:
            return text[:i]
    return text
