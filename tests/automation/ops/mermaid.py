"""A small parser for the report's Mermaid flowchart: nodes with label and class, and edges."""

from __future__ import annotations

import re

NODE = re.compile(r'^\s+(?P<id>\w+)\["(?P<label>[^"]*)"\]:::(?P<cls>\w+)$')
EDGE = re.compile(r"^\s+(?P<src>\w+) --> (?P<dst>\w+)$")
CLASSDEF = re.compile(r"^\s+classDef (?P<cls>\w+) (?P<style>\S+)$")


def mermaid_block(markdown: str) -> str:
    (block,) = re.findall(r"```mermaid\n(.*?)\n```", markdown, re.S)
    return block


def parse(block: str) -> tuple[dict[str, tuple[str, str]], set[tuple[str, str]], dict[str, str]]:
    """(nodes id → (label, class), edges, classDefs); any other line is a syntax error."""
    lines = block.splitlines()
    assert lines[0] == "flowchart LR", lines[0]
    nodes: dict[str, tuple[str, str]] = {}
    edges: set[tuple[str, str]] = set()
    classes: dict[str, str] = {}
    for line in lines[1:]:
        if m := NODE.match(line):
            nodes[m["id"]] = (m["label"], m["cls"])
        elif m := EDGE.match(line):
            edges.add((m["src"], m["dst"]))
        elif m := CLASSDEF.match(line):
            classes[m["cls"]] = m["style"]
        else:
            raise AssertionError(f"not a Mermaid flowchart line: {line!r}")
    for src, dst in edges:
        assert src in nodes and dst in nodes, (src, dst)
    assert {cls for _, cls in nodes.values()} <= set(classes)
    return nodes, edges, classes
