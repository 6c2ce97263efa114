"""Bounds on a composed YAML node graph, checked before it is constructed.

Aliases share nodes, so a small document can stand for a huge one: nine levels of nine aliases
(a "billion laughs"), or one long string aliased thousands of times.  Constructing it costs
nothing, but whatever spells the value out later (writing an imgpkg lock back, extracting the files
of a ConfigMap) pays in full.  :func:`check_expansion` computes each node's alias-expanded size once
(iteratively, so linear in the document whatever the aliasing or nesting) and refuses a document
larger than a limit, or one whose anchor contains itself (go-yaml: "anchor ... value contains
itself").
"""

from __future__ import annotations

import yaml


class ExpansionError(ValueError):
    """The document expands past the limit through aliases, or an anchor contains itself."""


def check_expansion(root: yaml.Node, limit: int) -> None:
    """Raise ExpansionError when ``root`` (scalar bytes, each alias counted in full) exceeds
    ``limit`` or holds an anchor inside its own value."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the nodes whose subtree is being sized: the current path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = len(node.value)
            continue
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > limit:
                raise ExpansionError(
                    f"aliases expand it past {limit} bytes (document contains excessive aliasing)"
                )
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise ExpansionError("an anchor's value contains itself")
            if id(child) not in sizes:
                stack.append((child, False))
