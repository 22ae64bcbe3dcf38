"""Which inputs torch's autograd graph connects to FUNC's outputs and gradients, and how.

torch's ``strict=True`` fails where a gradient is None (no path in the graph to the input)
or does not require grad (its graph reaches no input), at each backward pass a member of
the family takes. That graph is not the simplified derivative: ``x * 0`` and ``x - x`` keep
``x`` (a gradient of zeros), ``floor(x)`` keeps it with a gradient of zeros made afresh and
connected to nothing, ``x.detach()``, ``zeros_like(x)`` and comparisons drop it. What each
operation does is its rules entry's ``torch`` kind; this module walks FUNC's (forward) graph
with it, so the answer never depends on numbers or array sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import sympy as sp

from jvpcli.symbolic import dag
from jvpcli.symbolic import ops as o
from jvpcli.symbolic.rules import entries

Inputs = frozenset[int]
NONE: Inputs = frozenset()


class Backward(NamedTuple):
    """torch's gradient of one output with respect to each input (by position)."""

    #: the graph has a path from the output to the input: the gradient is not None
    defined: tuple[bool, ...]
    #: it is connected to the output's cotangent (every step on some path passes it on)
    carries: tuple[bool, ...]
    #: the inputs its graph reaches: it requires grad (with a cotangent that does not) iff any
    depends: tuple[Inputs, ...]
    #: the inputs reached from it along steps that pass a cotangent on: differentiating it
    #: once more (hvp's double-backward trick) is connected to the cotangent iff any
    passes: tuple[Inputs, ...]


@lru_cache(maxsize=1)
def _kinds() -> dict[type, str]:
    return {op: e.torch or "smooth" for op, e in entries().items()}


def kind(node: sp.Basic) -> str:
    """The torch kind of ``node``'s operation (an op outside the table counts as smooth)."""
    table = _kinds()
    for cls in type(node).__mro__:
        if cls in table:
            return table[cls]
    return "smooth"


def edges(node: sp.Basic) -> tuple[sp.Basic, ...]:
    """The arguments torch's graph links ``node`` to: their values, and the shapes a
    cancellation kept (``ArrayLike``: ``x - x`` is still computed from ``x``)."""
    if isinstance(node, o.ArrayLike):
        return tuple(node.arrays)
    args = o.value_args(node) if isinstance(node, o.ArrayOp) else node.args
    return tuple(a for a in args if not isinstance(a, o.Static))


class Graph:
    """FUNC's outputs as torch's autograd graph sees them."""

    def __init__(self, outputs: Sequence[sp.Expr], inputs: Sequence[sp.Symbol]) -> None:
        self.outputs, self.inputs = tuple(outputs), tuple(inputs)
        self.order = dag.nodes(self.outputs)
        position = {x: i for i, x in enumerate(self.inputs)}
        #: per node, the inputs it is computed from (any path), and along cotangent-passing steps
        self.reach: dict[sp.Basic, Inputs] = {}
        self.smooth: dict[sp.Basic, Inputs] = {}
        for node in self.order:
            k = kind(node)
            if node in position:
                self.reach[node] = self.smooth[node] = frozenset((position[node],))
            elif k == "cut" or not node.args:
                self.reach[node] = self.smooth[node] = NONE
            else:
                args = edges(node)
                self.reach[node] = NONE.union(*(self.reach[a] for a in args))
                self.smooth[node] = NONE if k == "flat" else NONE.union(*(self.smooth[a] for a in args))

    def connected(self, output: int) -> Inputs:
        """The inputs output ``output`` is computed from: it requires grad iff any."""
        return self.reach[self.outputs[output]]

    def backward(self, output: int) -> Backward:
        """The gradient of output ``output`` (its cotangent a leaf) with respect to each input."""
        root = self.outputs[output]
        defined, carries = {root}, {root}
        depends: dict[sp.Basic, Inputs] = {root: NONE}
        passes: dict[sp.Basic, Inputs] = {root: NONE}
        for node in reversed(self.order):
            k = kind(node)
            if node not in defined or k == "cut" or node in self.inputs:
                continue
            args = edges(node)
            for i, a in enumerate(args):
                defined.add(a)
                if k == "flat":  # zeros made afresh: connected to nothing
                    continue
                if node in carries:
                    carries.add(a)
                uses = args[:i] + args[i + 1 :] if k == "product" else args if k in ("smooth", "sign") else ()
                dep = depends.get(node, NONE).union(*(self.reach[b] for b in uses))
                moved = passes.get(node, NONE)
                if k != "sign":  # sign: the values it uses are piecewise constant
                    moved = moved.union(*(self.smooth[b] for b in uses))
                depends[a] = depends.get(a, NONE) | dep
                passes[a] = passes.get(a, NONE) | moved
        return Backward(
            tuple(x in defined for x in self.inputs),
            tuple(x in carries for x in self.inputs),
            tuple(depends.get(x, NONE) for x in self.inputs),
            tuple(passes.get(x, NONE) for x in self.inputs),
        )
