"""SVG made safe to inline in the report, and matplotlib SVG that is the same every time."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from torchscope.render.figures import figure
from torchscope.render.report_svg import SvgError, clean_svg, figure_svg

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def test_everything_that_runs_or_loads_is_dropped() -> None:
    dirty = (
        f"<svg {NS}><!-- <script>x()</script> --><script>alert(1)</script>"
        "<style>*{display:none}</style><foreignObject><div>hi</div></foreignObject>"
        '<a href="javascript:alert(1)"><text onclick="x()" onmouseover="y()">t</text></a>'
        '<image xlink:href="https://evil.example/p.png"/>'
        '<image xlink:href="data:image/png;base64,AAAA"/>'
        '<rect style="fill:url(https://evil.example/x)"/><rect fill="url( #g )"/>'
        '<linearGradient id="g"/></svg>'
    )
    out = clean_svg(dirty, "p")
    for gone in ("script", "style>", "foreignObject", "javascript", "onclick", "onmouseover",
                 "evil.example", "<!--"):  # fmt: skip
        assert gone not in out
    assert 'xlink:href="data:image/png;base64,AAAA"' in out
    assert 'fill="url(#p-g)"' in out and 'id="p-g"' in out
    ET.fromstring(out)  # still well-formed


def test_ids_and_references_get_the_figure_prefix() -> None:
    svg = (
        f'<svg {NS}><defs><clipPath id="c1"><rect/></clipPath><path id="m"/></defs>'
        '<g clip-path="url(#c1)"><use xlink:href="#m"/><use href="#m"/></g></svg>'
    )
    out = clean_svg(svg, "fig7")
    assert 'id="fig7-c1"' in out and 'clip-path="url(#fig7-c1)"' in out
    assert out.count('href="#fig7-m"') == 2


def test_text_stays_escaped_text() -> None:
    out = clean_svg(f"<svg {NS}><text>&lt;img src=x onerror=alert(1)&gt; &amp; \"q\"</text></svg>",
                    "t")  # fmt: skip
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt; &amp;" in out


@pytest.mark.parametrize(
    "bad",
    [
        "not xml",
        "<html><body/></html>",
        f"<svg {NS}><g></svg>",
        "<!DOCTYPE x [<!ENTITY a 'b'>]><svg/>",
    ],
)
def test_what_is_not_an_svg_is_refused(bad: str) -> None:
    with pytest.raises(SvgError):
        clean_svg(bad, "x")


def test_matplotlib_svg_is_deterministic_and_keeps_text() -> None:
    def draw() -> str:
        fig = figure(3, 2)
        ax = fig.subplots()
        ax.plot([0, 1, 2], [3, 1, 2], label="<b>loss</b>")
        ax.imshow([[0, 1], [1, 0]])
        ax.set_title("layer <script>")
        return figure_svg(fig, "f")

    first, second = draw(), draw()
    assert first == second
    assert "layer &lt;script&gt;</text>" in first  # a real text element, selectable
    assert "<metadata" not in first and "<style" not in first
    assert 'xlink:href="data:image/png;base64,' in first  # the image stays inline
    ids = [e.get("id") for e in ET.fromstring(first).iter() if e.get("id")]
    assert ids and all(i.startswith("f-") for i in ids)
