"""Hostile names through every graph drawing: DOT, SVG, the viewer page, notebook views.

Names come from models and from graph files others wrote. Whatever they hold (markup,
DOT syntax, script, control characters, 100,000 characters), every output quotes and
escapes them: the DOT parses as the graph we meant, the SVG carries no script, link or
event handler, the page runs only its own script, and nothing raises.
"""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import torch
from torch import nn

import torchscope
from torchscope._api import draw
from torchscope.model.graph import ModelGraph
from torchscope.render.graph_view import GraphView

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")

HOSTILE_NAMES = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"]; evil [URL="javascript:alert(1)"]; x [label="',
    "</TD></TR></TABLE>>]; evil [URL=<javascript:alert(1)>]; y [label=<",
    'back\\slash\\" and "quotes',
    "&amp;&#x3C;&lt;",
    "]]><!-- --> <![CDATA[",
    "new\nline\r\ttab",
    "\x1b]0;owned\x07\x1b[31mred",
    "[red]FAKE OK[/red] [/] [link=https://x]",
    "\u2028\u2029\ufeff",
    "{}%s%n${x}",
]
LONG = "n" * 100_000


class _Named(nn.Module):
    """Submodules named by the hostile names, applied in a chain."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        for name in names:
            self.add_module(name.replace(".", "·"), nn.Linear(3, 3))  # torch refuses dots

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for child in self.children():
            x = child(x)
        return x


def _svg_is_inert(svg: str) -> list[str]:
    """Problems in an SVG: script elements, event handlers, links, unparsable XML."""
    root = ET.fromstring(svg[svg.index("<svg") :])
    problems = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("script", "foreignObject", "a"):
            problems.append(f"<{tag}>")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local.startswith("on") or local == "href" or "javascript:" in value.lower():
                problems.append(f"{tag} {local}={value[:40]!r}")
    return problems


def _page_is_inert(page: str) -> list[str]:
    problems = []
    if page.count("<script") != 2:  # the data element and the bundle, nothing else
        problems.append(f"{page.count('<script')} script elements")
    data = re.search(r'<script type="application/json" id="ts-data">(.*?)</script>', page, re.S)
    if data is None or "<" in data.group(1):
        problems.append("the data element can be closed from inside")
    head = page.split("<style>", 1)[0]
    if re.search(r"<(img|svg|iframe)", head):
        problems.append("markup in the page head")
    return problems


def _check(view: GraphView) -> None:
    dot = view.to_dot()
    ids = {n.id for n in view.view.nodes} | {c.id for c in view.view.clusters} | {"legend"}
    declared = set(re.findall(r'^\s*(?:subgraph )?"([^"]*)"', dot, flags=re.M))
    assert declared <= ids  # no name leaked out of its quotes into a declaration
    if shutil.which("dot"):
        svg = view.render("svg").decode()
        assert _svg_is_inert(svg) == []
        assert max(len(t) for t in re.findall(r">([^<]*)</text>", svg)) < 200
        assert view._repr_svg_() is not None
    assert _page_is_inert(view.to_html()) == []
    assert view._repr_html_().startswith(("<div", "<iframe"))
    text = str(view)
    assert "\x1b" not in text and len(text) < 2000
    from rich.console import Console

    console = Console(width=100, record=True, color_system=None)
    console.print(view)
    assert "\x1b" not in console.export_text()


def test_hostile_module_names_through_every_output() -> None:
    graph = torchscope.trace(_Named(HOSTILE_NAMES), input_size=(1, 3))
    for depth in (0, 1):
        _check(draw(graph, depth=depth, color_by="params"))


@needs_dot
def test_a_100k_character_module_name_is_drawn_shortened() -> None:
    graph = torchscope.trace(_Named([LONG, "short"]), input_size=(1, 3))
    view = draw(graph, depth=1)
    svg = view.render("svg").decode()  # Graphviz refuses strings over 16,384 characters
    label = next(t for t in re.findall(r">([^<]*)</text>", svg) if t.startswith("nnn"))
    assert len(label) == 80 and "…" in label
    assert view._repr_svg_() is not None and "<svg" in view._repr_html_()
    _check(view)


def _string_fields(d: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the free-text leaves of a graph dict (not the names other parts refer to)."""
    references = {"path", "parent", "children", "module", "src", "dst", "name"}
    found = []
    if isinstance(d, dict):
        for key, value in d.items():
            if isinstance(value, str) and key not in references:
                found.append((*path, key))
            elif key not in references:
                found.extend(_string_fields(value, (*path, key)))
    elif isinstance(d, list):
        for i, value in enumerate(d):
            found.extend(_string_fields(value, (*path, i)))
    return found


def test_seeded_fuzz_of_graph_files_with_hostile_strings() -> None:
    base = json.loads(torchscope.trace(_Named(["a", "b"]), input_size=(1, 3)).to_json())
    fields = _string_fields(base)
    fields += [("ops", i, "name") for i in range(len(base["ops"]))]
    fields += [("inputs", 0, "name"), ("outputs", 0, "name")]
    rng = random.Random(20261127)
    for _ in range(12):
        mutated = copy.deepcopy(base)
        for field in rng.sample(fields, k=min(6, len(fields))):
            target = mutated
            for key in field[:-1]:
                target = target[key]
            target[field[-1]] = rng.choice(HOSTILE_NAMES) + rng.choice(["", LONG[:3000]])
        graph = ModelGraph.from_dict(mutated)
        _check(draw(graph, depth=rng.choice([0, 1, 2]), color_by=rng.choice([None, "macs"])))
