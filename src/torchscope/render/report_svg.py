"""SVG for the report: matplotlib figures written deterministically, and any SVG made safe
to inline in a page.

A report inlines its figures as SVG (vector in print, every label selectable text), so
each SVG passes through ``clean_svg`` first: it is parsed as XML and written back without
comments, scripts, styles (an SVG ``<style>`` would restyle the whole page), event
attributes or links leaving the document, and every ``id`` gets the figure's own prefix
(two inlined figures must not share ids, or one's clip paths would clip the other).
Matplotlib writes the same SVG for the same figure only with a fixed ``svg.hashsalt`` and
no date: ``figure_svg`` sets both, so two builds of a report are byte-identical.

Example:
    >>> svg = clean_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script>'
    ...                 '<g id="a" onclick="x()"><text>&lt;b&gt;</text></g></svg>', "f1")
    >>> svg[svg.index("<g"):]
    '<g id="f1-a"><text>&lt;b&gt;</text></g></svg>'
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SvgError", "clean_svg", "figure_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_DROPPED = {"script", "style", "foreignObject", "metadata", "iframe", "object", "embed"}
_HREFS = {"href", f"{{{XLINK_NS}}}href"}
_LOCAL_URL = re.compile(r"url\(\s*#([^)\s]+)\s*\)")
_ANY_URL = re.compile(r"url\s*\(|@import|expression\s*\(", re.IGNORECASE)
_SAFE_DATA = ("data:image/png;base64,", "data:image/jpeg;base64,")
_SALT = "torchscope-report"
_FONTS = ["DejaVu Sans", "Helvetica", "Arial"]  # a short family list in every <text>


class SvgError(ValueError):
    """The text is not an SVG document that can be parsed."""


def figure_svg(fig: Figure, prefix: str) -> str:
    """``fig`` as a clean, inline-ready SVG; the same figure gives the same bytes.

    Text stays text (``svg.fonttype: none``), so it is selectable and searchable.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(
        {
            "svg.hashsalt": _SALT,
            "svg.fonttype": "none",
            "svg.image_inline": True,
            "font.sans-serif": _FONTS,
        }
    ):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return clean_svg(buffer.getvalue(), prefix)


def clean_svg(text: str, prefix: str) -> str:
    """An SVG document as an inline ``<svg>`` element holding nothing that runs or loads.

    Raises SvgError when ``text`` is not well-formed XML with an ``<svg>`` root.
    """
    if "<!ENTITY" in text:  # no entity expansion (billion laughs), whatever expat allows
        raise SvgError("an SVG declaring entities is not inlined")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise SvgError(f"not a well-formed SVG: {exc}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise SvgError(f"not an SVG document (root element {root.tag!r})")
    ids: dict[str, str] = {}
    _strip(root)
    for element in root.iter():
        if "id" in element.attrib:
            ids[element.attrib["id"]] = f"{prefix}-{element.attrib['id']}"
    for element in root.iter():
        _rewrite_attributes(element, ids)
    out: list[str] = []
    _write(root, out, top=True)
    return "".join(out)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _strip(parent: ET.Element) -> None:
    """Remove, recursively, every element that could run code, restyle or load."""
    for child in list(parent):
        tag = child.tag if isinstance(child.tag, str) else ""
        if not tag.startswith(f"{{{SVG_NS}}}") or _local(tag) in _DROPPED:
            parent.remove(child)
        else:
            _strip(child)


def _rewrite_attributes(element: ET.Element, ids: dict[str, str]) -> None:
    """Prefix ids and references to them; drop events, outside links and outside urls."""
    for name, value in list(element.attrib.items()):
        local = _local(name).lower()
        if local.startswith("on"):
            del element.attrib[name]
        elif name in _HREFS:
            if value.startswith("#") and value[1:] in ids:
                element.attrib[name] = "#" + ids[value[1:]]
            elif not value.startswith(_SAFE_DATA):
                del element.attrib[name]
        elif local == "id":
            element.attrib[name] = ids[value]
        else:
            local_refs = _LOCAL_URL.sub(lambda m: f"url(#{ids.get(m.group(1), m.group(1))})", value)
            if _ANY_URL.search(_LOCAL_URL.sub("", local_refs)):
                del element.attrib[name]  # a url() that is not a reference into the document
            else:
                element.attrib[name] = local_refs


def _attribute_name(name: str) -> str:
    if name.startswith(f"{{{XLINK_NS}}}"):
        return "xlink:" + _local(name)
    return _local(name)  # attributes of other namespaces lose theirs (none are drawn)


def _write(element: ET.Element, out: list[str], *, top: bool = False) -> None:
    """XML text of an element of the SVG namespace, every text and value escaped."""
    tag = _local(element.tag)
    attributes = "".join(
        f' {_attribute_name(k)}="{escape(v, quote=True)}"' for k, v in element.attrib.items()
    )
    if top:
        attributes = f' xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}"' + attributes
    out.append(f"<{tag}{attributes}>")
    out.append(escape(element.text or "", quote=False))
    for child in element:
        _write(child, out)
        out.append(escape(child.tail or "", quote=False))
    out.append(f"</{tag}>")
