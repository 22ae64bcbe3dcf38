"""Reverse mode: linearize with the JVP rules, then transpose the linear expression (jax's design).

Linearizing gives each primal node ``n`` that moves a tangent symbol ``t_n`` (shaped like
``n``) and a *body*: its JVP rule applied to the tangent symbols of its arguments, an
expression linear in them. Transposing walks the nodes from the outputs back, and within
each body from its top down, with the transposes of ``rules.py``: only linear operations
need one. Shapes are never known here; where a transpose needs one it takes a *witness*,
an expression of that shape (the primal node a tangent symbol stands for; elementwise
combinations of witnesses as a broadcast view of zeros). Symbolic work is one rule
application and one transposition per node: it never grows with array size.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from jvpcli.symbolic import dag
from jvpcli.symbolic import ops as o
from jvpcli.symbolic.derive import NoRuleError, entry_for
from jvpcli.symbolic.rules import NonLinearError
from jvpcli.symbolic.shapes import leaves


def _name(node: sp.Basic) -> str:
    return getattr(node, "func_name", "") or type(node).__name__


def _tangent_symbol(node: sp.Expr) -> sp.Dummy:
    return sp.Dummy("t", real=True) if node.is_extended_real else sp.Dummy("t", complex=True)


class _Transposer:
    """The shape witnesses and fitting of one transposition (a ``rules.Context``)."""

    def __init__(self, primal: dict[sp.Symbol, sp.Expr], real: bool) -> None:
        self.primal = primal  # tangent symbol -> the primal node it is the tangent of
        self.real = real
        self.linear: set[sp.Basic] = set(primal)
        self._likes: dict[sp.Basic, sp.Expr] = {}
        self._leaves: dict[sp.Basic, frozenset] = {}

    def conj(self, coefficient: sp.Expr) -> sp.Expr:
        return coefficient if self.real else sp.conjugate(coefficient)

    def mark(self, body: sp.Expr) -> list[sp.Basic]:
        """The nodes of ``body`` that carry a tangent, children first."""
        order = []
        for node in dag.nodes([body]):
            if node in self.primal or any(a in self.linear for a in node.args):
                self.linear.add(node)
                order.append(node)
        return order

    def primal_leaves(self, expr: sp.Expr) -> frozenset:
        """The leaves whose shapes broadcast to ``expr``'s, tangent symbols read as their nodes."""
        if expr not in self._leaves:
            found: frozenset = frozenset()
            for leaf in leaves(expr):
                if leaf in self.primal:
                    found |= leaves(self.primal[leaf])
                elif leaf in self.linear:  # an op of tangents: shaped like the same op of witnesses
                    found |= leaves(self.like(leaf))
                else:
                    found |= frozenset((leaf,))
            self._leaves[expr] = found
        return self._leaves[expr]

    def like(self, arg: sp.Expr) -> sp.Expr:
        if arg in self.primal:
            return self.primal[arg]
        if arg not in self.linear:
            return arg
        if arg not in self._likes:
            arrays = arg.arrays if isinstance(arg, o.ArrayOp) else arg.args
            if isinstance(arg, o.ArrayOp) and not arg.elementwise:
                self._likes[arg] = arg.rebuild(*(self.like(a) for a in arrays))
            else:
                parts = list(dict.fromkeys(self.like(a) for a in arrays if not a.is_number))
                covering = [p for p in parts if all(leaves(p) >= leaves(q) for q in parts)]
                self._likes[arg] = covering[0] if covering else o.ArrayLike.make(sp.S.Zero, *parts)
        return self._likes[arg]

    def fit(self, ct: sp.Expr, arg: sp.Expr, node: sp.Expr) -> sp.Expr:
        if self.primal_leaves(arg) >= self.primal_leaves(node):
            return ct
        return o.ArraySumLike.make(ct, self.like(arg))

    def transpose(self, node: sp.Expr, body: sp.Expr, ct: sp.Expr, into: dict[sp.Basic, sp.Expr]) -> None:
        """Add the cotangents that ``ct`` on ``node`` gives the tangent symbols of ``body``
        (``node``'s linearization, which may be smaller than ``node``) to ``into``."""
        order = self.mark(body)
        cts: dict[sp.Basic, sp.Expr] = {body: self.fit(ct, body, node)}
        for node in reversed(order):
            value = cts.pop(node, None)
            if value is None or value == 0:
                continue
            if node in self.primal:
                into[node] = into.get(node, sp.S.Zero) + value
                continue
            rule = entry_for(node).transpose
            if rule is None:
                raise NoRuleError(f"reverse mode does not support {_name(node)} yet (it has no transpose)")
            for arg, part in zip(node.args, rule(node, value, [a in self.linear for a in node.args], self)):
                if part is not None and part != 0:
                    cts[arg] = cts.get(arg, sp.S.Zero) + part


def vjp(outputs: Sequence[sp.Expr], inputs: Sequence[sp.Symbol], cotangents: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Per input, the cotangent that ``cotangents`` on ``outputs`` pull back to it (``0``
    where no output depends on it). Each cotangent is shaped like its output."""
    wanted = set(inputs)
    tangent: dict[sp.Basic, sp.Dummy] = {}
    bodies: list[tuple[sp.Expr, sp.Dummy, sp.Expr]] = []
    order = dag.nodes(outputs)
    for node in order:
        if node in wanted:
            tangent[node] = _tangent_symbol(node)
        elif node.args and any(a in tangent for a in node.args):
            d = [tangent.get(a, sp.S.Zero) for a in node.args]
            body = entry_for(node).jvp(node, d, lambda t, like: t)
            if dag.free_symbols([body]) & set(tangent.values()):
                tangent[node] = _tangent_symbol(node)
                bodies.append((node, tangent[node], body))
    real = all(s.is_extended_real for s in dag.free_symbols([*outputs, *cotangents])) and not any(
        node.has(sp.I) for node in outputs
    )
    work = _Transposer({t: n for n, t in tangent.items()}, real)
    cts: dict[sp.Basic, sp.Expr] = {}
    for out, u in zip(outputs, cotangents):
        if out in tangent:
            cts[tangent[out]] = cts.get(tangent[out], sp.S.Zero) + u
    try:
        for node, t, body in reversed(bodies):
            if t in cts:
                ct = cts.pop(t)
                work.transpose(node, body, ct, cts)
    except NonLinearError as exc:  # pragma: no cover - a rule that is not linear in its tangents
        raise NoRuleError(f"a JVP rule gave an expression that is not linear: {exc}") from None
    return [cts.get(tangent[x], sp.S.Zero) if x in tangent else sp.S.Zero for x in inputs]
