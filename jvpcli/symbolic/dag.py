"""Walks over an expression as the graph it is, each shared node once.

sympy's own ``free_symbols``, ``xreplace`` and ``count_ops`` walk the expression *tree*:
a def that reuses a name (``h = sin(h) + cos(h)``, forty times) has a small graph but a
tree of 2**40 nodes. Everything jvpcli asks of a whole expression goes through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy as sp


def _postorder(exprs: Iterable[sp.Basic]) -> list[sp.Basic]:
    """Every distinct node, children before parents."""
    order: list[sp.Basic] = []
    seen: set[sp.Basic] = set()
    for root in exprs:
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in seen)
    return order


def nodes(exprs: Iterable[sp.Basic]) -> list[sp.Basic]:
    return _postorder(exprs)


def free_symbols(exprs: Iterable[sp.Basic]) -> set[sp.Symbol]:
    return {node for node in _postorder(exprs) if isinstance(node, sp.Symbol)}


def node_count(exprs: Iterable[sp.Basic]) -> int:
    """Distinct operations: the work one evaluation does, shared parts counted once."""
    return sum(1 for node in _postorder(exprs) if node.args)


def tree_size(exprs: Iterable[sp.Basic]) -> int:
    """How many nodes printing the expressions as text would write."""
    size: dict[sp.Basic, int] = {}
    for node in _postorder(exprs):
        size[node] = 1 + sum(size[a] for a in node.args)
    return sum(size[e] for e in exprs)


def rename(exprs: Iterable[sp.Basic], mapping: Mapping[sp.Symbol, sp.Symbol]) -> list[sp.Basic]:
    """``xreplace`` of symbols by symbols of the same kind, on the graph: each node rebuilt once,
    and unevaluated (the structure is the one sympy made already; evaluating it again re-runs
    assumption queries that walk the whole tree, which a reused name makes exponential)."""
    exprs = list(exprs)
    new: dict[sp.Basic, sp.Basic] = {}
    for node in _postorder(exprs):
        if node in mapping:
            new[node] = mapping[node]
        else:
            new[node] = rebuilt(node, [new[a] for a in node.args])
    return [new[e] for e in exprs]


def rebuilt(node: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
    """``node`` on new arguments, unevaluated (``node`` itself where none changed)."""
    if all(a is b for a, b in zip(args, node.args)):
        return node
    try:
        return node.func(*args, evaluate=False)
    except TypeError:  # a class without the flag
        return node.func(*args)
