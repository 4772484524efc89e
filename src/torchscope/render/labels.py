"""Names as drawings show them: bounded in length, shortened in the middle.

A module or op name comes from the model (or a graph file someone else wrote): it may be
any length. Graphviz refuses strings over 16,384 characters, and a long name makes an
unreadable node, so every name is capped before it is drawn. The middle goes, because
the start (where in the model) and the end (which layer: ``c_attn`` or ``c_proj``) are
what tell two names apart.
"""

from __future__ import annotations

__all__ = ["NAME_LIMIT", "printable", "shorten_middle"]

NAME_LIMIT = 80


def shorten_middle(text: str, limit: int = NAME_LIMIT) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and end around ``…``.

    Example:
        >>> shorten_middle("transformer.h.0.attn.c_proj", 20)
        'transform…ttn.c_proj'
    """
    if len(text) <= limit:
        return text
    keep = max(limit - 1, 2)
    head = keep // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def printable(text: str) -> str:
    r"""``text`` with control and other unprintable characters as U+FFFD.

    Terminal escapes in a name must not reach a terminal, and Graphviz's XML parser
    refuses control characters in a label.

    Example:
        >>> printable("a\x1b[31mred\n") == "a\ufffd[31mred\ufffd"
        True
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "\ufffd" for c in text)
