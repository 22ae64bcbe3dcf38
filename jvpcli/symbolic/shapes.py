"""What decides an expression's shape, so that sympy's cancellations cannot change it.

Elementwise algebra broadcasts its operands; an ``ArrayOp`` that is not elementwise has a
shape of its own. The *leaves* of an expression are the symbols and non-elementwise ops
whose shapes broadcast to its shape. When a simplification drops a leaf (``x - x``, or a
tangent ``v_x`` standing for ``d(x + y)``), ``keep_leaves`` puts it back as an
``ArrayLike``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

import sympy as sp

from jvpcli.symbolic import dag
from jvpcli.symbolic import ops as o
from jvpcli.symbolic.ops import ArrayLike, ArrayOp, Static
from jvpcli.symbolic.rules import entries


@lru_cache(maxsize=65536)
def leaves(expr: sp.Basic) -> frozenset:
    """Symbols and non-elementwise ops whose shapes broadcast to ``expr``'s shape."""
    if isinstance(expr, sp.Symbol):
        return frozenset((expr,))
    if isinstance(expr, ArrayOp) and not expr.elementwise:
        return frozenset((expr,))
    if isinstance(expr, Static) or not expr.args:
        return frozenset()
    return frozenset().union(*(leaves(a) for a in expr.args))


#: ops that reduce, scan or flip along their ``axis`` and treat every other axis alike
BY_AXIS = tuple(op for op, entry in entries().items() if entry.by_axis)


def reduces(exprs: Iterable[sp.Basic]) -> bool:
    return any(isinstance(node, BY_AXIS) for node in dag.nodes(exprs))


def row_breaker(exprs: Iterable[sp.Basic]) -> sp.Basic | None:
    """An operation that mixes rows of axis 0 (``x.sum(axis=0)``, ``x @ A``, ``x[0]``), if any:
    the first one met, expressions in order. Without one, blocks of rows may be evaluated
    separately."""
    seen: set[sp.Basic] = set()
    todo = list(exprs)[::-1]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, o.ArrayIndex):
            index = node.param("index")
            if not index or index[0] != ("slice", None, None, None):  # x[:, ...] keeps the rows
                return node
        elif isinstance(node, ArrayOp) and not node.elementwise:
            axis = node.param("axis") if isinstance(node, BY_AXIS) else None
            axes = axis if isinstance(axis, tuple) else (axis,)
            if axis is None or not axes or not all(isinstance(a, int) and a > 0 for a in axes):
                return node
        todo.extend(node.args[::-1])
    return None


#: ops whose results on blocks of rows combine into the whole one, and how (``Entry.over_rows``)
OVER_ROWS = {op: entry.over_rows for op, entry in entries().items() if entry.over_rows}


def row_reductions(exprs: Iterable[sp.Basic]) -> tuple[tuple[str, frozenset], ...] | None:
    """Per expression, ``("", {})`` where it treats the rows of axis 0 apart, or how it
    combines from blocks of rows (``"sum"``, ``"mean"``) and the symbols of what it reduces,
    where it is such a reduction over axis 0 (or every axis) of work that treats rows apart;
    ``None`` where some expression is neither: then blocks of rows cannot make the results."""
    out: list[tuple[str, frozenset]] = []
    for e in exprs:
        if row_breaker([e]) is None:
            out.append(("", frozenset()))
            continue
        how = OVER_ROWS.get(type(e))
        if how is None:
            return None
        axis = e.param("axis")
        (inner,) = e.arrays
        if not (axis is None or 0 in (axis if isinstance(axis, tuple) else (axis,))) or row_breaker([inner]):
            return None
        out.append((how, frozenset(inner.free_symbols)))
    return tuple(out)


def keep_leaves(
    expr: sp.Expr, expected: Iterable[sp.Basic], renamed: Mapping[sp.Symbol, sp.Symbol] | None = None
) -> sp.Expr:
    """``expr`` broadcast like ``expected`` leaves wherever simplification dropped some.

    ``renamed`` maps tangent symbols to their inputs: a tangent has its input's shape.
    """
    have = leaves(expr)
    if renamed:
        have = frozenset(dag.rename(have, renamed))
    missing = sorted(set(expected) - have, key=sp.default_sort_key)
    return ArrayLike.make(expr, *missing) if missing else expr


def shaped_like(expr: sp.Expr, like: sp.Expr, renamed: Mapping[sp.Symbol, sp.Symbol] | None = None) -> sp.Expr:
    """``expr`` (a tangent of ``like``) with exactly ``like``'s shape."""
    return keep_leaves(expr, leaves(like), renamed)
