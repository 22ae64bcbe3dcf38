"""A batch of tangents in one evaluation: jax's vmap, as a rewrite of the expression graph.

The extras (tangents or cotangents) gain one leading axis of size B. Every value computed
from them is *batched*: its batch axis leads and each slice is what the unbatched graph
computes. Elementwise operations need only their batched operands lifted to the other
operands' rank (``BatchLift``); every other operation takes its entry's ``batch`` rule
(``batch_rules.py``). Values that do not depend on the extras (the outputs, a gradient)
are computed once, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sympy as sp

from jvpcli.symbolic import dag
from jvpcli.symbolic.batch_rules import BatchLift
from jvpcli.symbolic.ops import ArrayOp, Static
from jvpcli.symbolic.rules import entries


def batched(exprs: Sequence[sp.Expr], extras: Iterable[sp.Symbol]) -> list[sp.Expr]:
    """``exprs`` computed for a batch of ``extras``, batch axis first where they depend on them."""
    table = entries()
    moving: set[sp.Basic] = set(extras)
    new: dict[sp.Basic, sp.Basic] = {}
    for node in dag.nodes(exprs):
        if not node.args or not any(a in moving for a in node.args):
            new[node] = dag.rebuilt(node, [new[a] for a in node.args])
            continue
        moving.add(node)
        args = [new[a] for a in node.args]
        if isinstance(node, ArrayOp) and not node.elementwise:
            rule = table[type(node)].batch
            if rule is None:
                raise RuntimeError(f"no batch rule for {type(node).__name__}")  # the completeness tests forbid it
            flags = tuple(a in moving for a in node.arrays)
            new[node] = rule(node.func(*args), flags)
        else:
            new[node] = dag.rebuilt(node, _lifted(node, args, moving))
    return [new[e] for e in exprs]


def _lifted(node: sp.Basic, args: list[sp.Basic], moving: set[sp.Basic]) -> list[sp.Basic]:
    """The arguments of an elementwise node, each batched one lifted to the others' rank."""
    arrays = len(node.arrays) if isinstance(node, ArrayOp) else len(args)
    shaped = [i for i in range(arrays) if not (args[i].is_number or isinstance(args[i], Static))]
    if len(shaped) < 2:
        return args
    out = list(args)
    for i in shaped:
        if node.args[i] in moving:
            others = [j for j in shaped if j != i]
            flags = Static(tuple(node.args[j] in moving for j in others))
            out[i] = BatchLift(args[i], *(args[j] for j in others), flags)
    return out
