"""How an operation acts on a batch: the ``batch`` rules of the table's entries (jax's
batching rules, on the expression graph; ``batching.py`` applies them).

In a batched kernel every value computed from the extras (B tangents or cotangents) carries
one leading axis of size B, and each of its slices is what the unbatched kernel computes.
A rule gets the node rebuilt on its batched arguments and ``flags``, which of its arrays carry
the axis, and returns the expression of the whole batch, batch axis first: the same op with
its axes moved past the batch axis, or a ``BatchCall`` of a helper of ``kernels/batch.py``.
``each`` is the rule of last resort, one numpy call per slice: right for every op, and the
only cost of an op no better rule covers.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import sympy as sp

from jvpcli.symbolic import ops as o

Flags = tuple[bool, ...]
BatchRule = Callable[[o.ArrayOp, Flags], sp.Expr]


class BatchCall(sp.Function):
    """``_bt.HELPER(lambda _b0, ...: OP, flags, *arrays, **params)``: ``OP`` (an op class and
    its parameters, kept whole in the ``Static``) over the batch, by one of the batched
    runtime's helpers, which gets the op as a function of one slice's arrays for what it
    cannot do faster."""

    is_commutative = True

    @classmethod
    def make(cls, helper: str, node: o.ArrayOp, flags: Flags, params: bool = False) -> sp.Expr:
        """``params``: the helper takes the op's parameters as keywords, besides the function."""
        return cls(*node.arrays, o.Static((helper, tuple(flags), type(node), node.args[-1].value, params)))

    def _eval_is_extended_real(self) -> bool | None:
        return None

    def _numpycode(self, printer: Any) -> str:
        *arrays, static = self.args
        helper, flags, op, params, keywords = static.value
        fn = o.op_lambda(printer, op, params, len(arrays))
        kwargs = "".join(f", {p}" for p in op(*arrays, o.Static(params))._param_text()) if keywords else ""
        printed = ", ".join(printer._print(a) for a in arrays)
        return f"_bt.{helper}({fn}, {flags!r}, {printed}{kwargs})"


class BatchLift(sp.Function):
    """A batched operand of an elementwise operation, with axes of length 1 after its batch
    axis up to the other operands' rank: numpy aligns shapes from the right, and a batched
    operand of lower rank would put its batch axis against another operand's axis.
    ``BatchLift(a, *others, Static(which of the others are batched))``."""

    is_commutative = True

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real

    def _numpycode(self, printer: Any) -> str:
        a, *others, static = self.args
        plain = "".join(printer._print(x) + ", " for x, batched in zip(others, static.value) if not batched)
        batched = "".join(printer._print(x) + ", " for x, batched in zip(others, static.value) if batched)
        return f"_bt.lift({printer._print(a)}, ({plain}), ({batched}))"


def each(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """One numpy call per slice, stacked."""
    return BatchCall.make("each", node, flags)


def helper(name: str, params: bool = False) -> BatchRule:
    """A helper of ``kernels/batch.py`` that does the batch at once (it falls back to ``each``
    where its fast path does not apply); ``params``: it takes the op's parameters too."""
    return lambda node, flags: BatchCall.make(name, node, flags, params)


def _shifted(axis: Any) -> Any:
    """Axes counted from the start move past the batch axis; from the end they stay."""
    if isinstance(axis, tuple):
        return tuple(_shifted(a) for a in axis)
    return axis + 1 if isinstance(axis, int) and axis >= 0 else axis


def _is_axes(axis: Any) -> bool:
    return isinstance(axis, int) or (isinstance(axis, tuple) and all(isinstance(a, int) for a in axis))


def _with(node: o.ArrayOp, **changed: Any) -> sp.Expr:
    values = tuple(changed.get(name, v) for name, v in zip(node.params, node.args[-1].value))
    return node.func(*node.arrays, o.Static(values))


def by_axis(*names: str) -> BatchRule:
    """An op along the axes its parameters ``names`` give, the same on every other axis: those
    axes shifted past the batch axis. ``None`` (every axis) and array arguments after the first
    that carry the batch (a weight, say) go slice by slice."""

    def rule(node: o.ArrayOp, flags: Flags) -> sp.Expr:
        values = [node.param(n) for n in names]
        if any(flags[1:]) or not all(_is_axes(v) for v in values):
            return each(node, flags)
        return _with(node, **{n: _shifted(v) for n, v in zip(names, values)})

    return rule


def reduction(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """A sum or mean: over every axis (``axis=None``), over the slice's elements flattened."""
    if node.param("axis") is None and not node.param("keepdims"):
        flat = BatchCall.make("shaped", o.ArrayFlatten.make(node.arrays[0], start_dim=0, end_dim=-1), flags)
        return node.func(flat, o.Static((-1, False)))
    return by_axis("axis")(node, flags)


def index(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """``x[...]``: a full slice in front keeps the batch axis; kept as it is after ``...``.
    Array indices (which numpy moves to the front when they are apart) and a batched index
    go slice by slice."""
    idx = node.param("index")
    if any(flags[1:]):
        return each(node, flags)
    if idx[:1] == ("...",):
        return node
    if any(isinstance(i, o.Slot) for i in idx):
        return each(node, flags)
    return _with(node, index=(("slice", None, None, None), *idx))


def shaped(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """An op that only reshapes or broadcasts its (first) argument: the batch reshaped to
    the shape one slice's result has."""
    if any(flags[1:]):
        return each(node, flags)
    return BatchCall.make("shaped", node, flags)


def transpose(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """``x.T`` reverses the slice's axes (how many, the helper sees); given axes keep axis 0 first."""
    axes = node.param("axes")
    if axes is None:
        return BatchCall.make("transpose", node, flags)
    return _with(node, axes=(0, *_shifted(axes)))


def stacked(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """numpy's linear algebra (inv, det, cholesky) works on the last two axes of a stack."""
    return node


def einsum(node: o.ArrayOp, flags: Flags) -> sp.Expr:
    """The batch axis as one more index, unused elsewhere, of each batched operand and of the
    output (implicit output subscripts made explicit first, as numpy orders them)."""
    subscripts = node.param("subscripts").replace(" ", "")
    inputs, arrow, out = subscripts.partition("->")
    if not arrow:
        letters = [c for c in inputs if c.isalpha()]
        out = ("..." if "..." in inputs else "") + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    free = next(c for c in string.ascii_letters if c not in subscripts)
    parts = [free + p if f else p for p, f in zip(inputs.split(","), flags)]
    return _with(node, subscripts=f"{','.join(parts)}->{free}{out}")
