"""FUNC + the kinds of its inputs -> a ``Kernel``: numpy source plus facts about it.

This is the symbolic half of the pipeline (build -> differentiate -> codegen), the only
part that imports sympy. Its result is plain data, independent of array sizes and values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from jvpcli.errors import ShapeError, UsageError
from jvpcli.kernels import codegen
from jvpcli.kernels.kernel import Kernel, Result, label
from jvpcli.lang.build import build
from jvpcli.lang.parse import Program
from jvpcli.symbolic import batching, dag, derive, reverse
from jvpcli.symbolic.ops import ArrayOp, value_args
from jvpcli.symbolic.printing import func_text
from jvpcli.symbolic.shapes import reduces, row_breaker, row_reductions

MAX_GRAPH_NODES = 100_000

#: FUNC's inputs (or constants) as ``(name, is_complex)`` pairs in binding order
Kinds = Sequence[tuple[str, bool]]


def symbol(name: str, is_complex: bool) -> sp.Symbol:
    """Real data gets a real symbol, so real derivatives carry no re/im terms."""
    return sp.Symbol(name, complex=True) if is_complex else sp.Symbol(name, real=True)


def fresh_names(wanted: Sequence[str], taken: set[str]) -> list[str]:
    """Each wanted name, with a numeric suffix where it is taken."""
    names = []
    for name in wanted:
        candidate, n = name, 0
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate)
        names.append(candidate)
    return names


def tangent_names(inputs: Sequence[str], taken: set[str]) -> list[str]:
    return fresh_names([f"v_{name}" for name in inputs], taken)


def cotangent_names(n_outputs: int, is_tuple: bool, taken: set[str]) -> list[str]:
    """The cotangent of output ``i`` is ``u_i``; of a single output, ``u``."""
    return fresh_names([f"u_{i}" for i in range(n_outputs)] if is_tuple else ["u"], taken)


@dataclass(frozen=True)
class Built:
    """FUNC's outputs as expressions, with the symbols they are written in."""

    inputs: tuple[sp.Symbol, ...]
    constants: tuple[sp.Symbol, ...]
    outputs: tuple[sp.Expr, ...]
    is_tuple: bool
    #: a disputed spelling read without a hint of its library (language.md): one line for stderr
    notes: tuple[str, ...] = ()


def built(program: Program, inputs: Kinds, constants: Kinds = ()) -> Built:
    """``inputs`` and ``constants`` are ``(name, is_complex)`` pairs in binding order."""
    xs = [symbol(n, c) for n, c in inputs]
    cs = [symbol(n, c) for n, c in constants]
    b = build(program, {s.name: s for s in (*xs, *cs)})
    return Built(tuple(xs), tuple(cs), b.outputs, b.is_tuple, b.notes)


@dataclass(frozen=True)
class Derived:
    """FUNC's outputs and their jvps as expressions, with the symbols they are written in."""

    inputs: tuple[sp.Symbol, ...]
    tangents: tuple[sp.Symbol, ...]
    constants: tuple[sp.Symbol, ...]
    outputs: tuple[sp.Expr, ...]
    jvps: tuple[sp.Expr, ...]
    is_tuple: bool
    #: a disputed spelling read without a hint of its library (language.md): one line for stderr
    notes: tuple[str, ...] = ()
    #: which product ``jvps`` holds: jvp (one per output), vjp, hvp or vhp (one per input);
    #: ``tangents`` are then cotangents ``u``/``u_i`` (vjp) or tangents ``v_NAME``
    kind: str = "jvp"
    #: hvp and vhp: the gradient the products are the jvp of
    gradients: tuple[sp.Expr, ...] = ()

    def as_built(self) -> Built:
        """The outputs and the symbols, without the products."""
        return Built(self.inputs, self.constants, self.outputs, self.is_tuple, self.notes)

    def names(self) -> list[str]:
        """Result names: ``output``/``output_i``, then ``jvp``/``jvp_i`` (or the kind's)."""
        n, per_input = len(self.outputs), self.kind != "jvp"
        outs = [f"output_{i}" for i in range(n)] if self.is_tuple else ["output"]
        many = len(self.inputs) != 1 if per_input else self.is_tuple
        return outs + ([f"{self.kind}_{i}" for i in range(len(self.jvps))] if many else [self.kind])


def derive_mode(program: Program, inputs: Kinds, constants: Kinds = (), mode: str = "jvp") -> Derived:
    """FUNC's outputs and one family member's products as expressions (show, codegen)."""
    if mode == "jvp":
        return derive_jvp(program, inputs, constants)
    b = built(program, inputs, constants)
    taken = {n for n, _ in (*inputs, *constants)}
    if mode == "vjp":
        is_complex = any(c for _, c in (*inputs, *constants))
        us = [symbol(n, is_complex) for n in cotangent_names(len(b.outputs), b.is_tuple, taken)]
        vjps = reverse.vjp(b.outputs, b.inputs, us)
        return Derived(b.inputs, tuple(us), b.constants, b.outputs, tuple(vjps), b.is_tuple, b.notes, kind="vjp")
    if b.is_tuple:
        raise ShapeError("FUNC must return a single value (not a tuple) with a single element")
    names = tangent_names([x.name for x in b.inputs], taken)
    ts = [symbol(t, x.is_extended_real is not True) for t, x in zip(names, b.inputs)]
    grads = reverse.vjp(b.outputs, b.inputs, [sp.S.One])
    products = derive.jvp(grads, dict(zip(b.inputs, ts)))
    return Derived(
        b.inputs, tuple(ts), b.constants, b.outputs, tuple(products), False, b.notes, kind=mode, gradients=tuple(grads)
    )


def derive_jvp(program: Program, inputs: Kinds, constants: Kinds = ()) -> Derived:
    """``inputs`` and ``constants`` are ``(name, is_complex)`` pairs in binding order."""
    xs = [symbol(n, c) for n, c in inputs]
    cs = [symbol(n, c) for n, c in constants]
    tnames = tangent_names([n for n, _ in inputs], {n for n, _ in (*inputs, *constants)})
    ts = [symbol(t, c) for t, (_, c) in zip(tnames, inputs)]
    built = build(program, {s.name: s for s in (*xs, *cs)})
    jvps = derive.jvp(built.outputs, dict(zip(xs, ts)))
    return Derived(tuple(xs), tuple(ts), tuple(cs), built.outputs, tuple(jvps), built.is_tuple, built.notes)


def depends(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> tuple[tuple[int, ...], ...]:
    """Per expression, the positions of the arguments its *values* depend on: an argument
    that only gives a shape (a witness, ``zeros_like(x)``) or only decides a condition
    (``x > 0``) is not one, as in torch, where such an input gets no gradient."""
    reach: dict[sp.Basic, frozenset] = {}
    for node in dag.nodes(exprs):
        if isinstance(node, sp.Symbol):
            reach[node] = frozenset((node,))
        else:
            reach[node] = frozenset().union(*(reach[a] for a in value_args(node)))
    return tuple(tuple(i for i, a in enumerate(args) if a in reach[e]) for e in exprs)


def elementwise_in(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> tuple[tuple[int, ...], ...]:
    """Per expression, the arguments it depends on through elementwise operations only: its
    Jacobian in such an argument is diagonal wherever the two have one shape."""
    out = []
    for e in exprs:
        found = []
        for i, a in enumerate(args):
            holds: dict[sp.Basic, bool] = {}
            ok = True
            for node in dag.nodes([e]):
                holds[node] = node == a or any(holds.get(x, False) for x in node.args)
                if holds[node] and node != a and isinstance(node, ArrayOp) and not node.elementwise:
                    ok = False
                    break
            if ok and holds.get(e, False):
                found.append(i)
        out.append(tuple(found))
    return tuple(out)


def result_names(kind: str, n: int, is_tuple: bool) -> list[str]:
    return [label(kind, i, is_tuple) for i in range(n)]


def kernel_of(
    mode: str,
    d: Built,
    extras: Sequence[sp.Symbol],
    exprs: Sequence[sp.Expr],
    results: Sequence[Result],
    create_graph: bool,
    batched: bool = False,
) -> Kernel:
    """The kernel computing ``exprs`` from FUNC's inputs, ``extras`` and constants;
    ``batched``: for extras with one leading axis more (B of them at once, ``batching.py``)."""
    if create_graph and dag.tree_size(exprs) > MAX_GRAPH_NODES:
        raise UsageError(
            f"the graph of this FUNC would print {dag.tree_size(exprs)} terms (the limit is {MAX_GRAPH_NODES}): "
            "'jvpcli show' prints it with shared parts named once"
        )
    args = [*d.inputs, *extras, *d.constants]
    breaker = row_breaker(exprs)
    reductions = row_reductions(exprs) if breaker is not None else None
    code = batching.batched(exprs, extras) if batched else exprs
    return Kernel(
        mode=mode,
        inputs=tuple(x.name for x in d.inputs),
        extras=tuple(e.name for e in extras),
        constants=tuple(c.name for c in d.constants),
        source=codegen.source(code, args, out=True),
        results=tuple(results),
        is_tuple=d.is_tuple,
        depends=depends(exprs, args),
        elementwise=elementwise_in(exprs, args),
        row_wise=breaker is None and not batched,  # a batch's rows are not the inputs' rows
        cost=dag.node_count(exprs),
        reduces=reduces(exprs),
        graph=tuple(map(func_text, exprs)) if create_graph else None,
        row_breaker=_short(func_text(breaker)) if breaker is not None else "",
        notes=d.notes,
        row_reductions=tuple((how, tuple(i for i, a in enumerate(args) if a in used)) for how, used in reductions)
        if reductions is not None
        else (),
    )


def _short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def compile_jvp(
    program: Program, inputs: Kinds, constants: Kinds = (), create_graph: bool = False, batched: bool = False
) -> Kernel:
    """The numpy kernel of FUNC's outputs and jvps (each shaped like its output)."""
    d = derive_jvp(program, inputs, constants)
    jvps = result_names("jvp", len(d.outputs), d.is_tuple)
    results = _outputs(d) + [Result(name, ("result", i)) for i, name in enumerate(jvps)]
    return kernel_of("jvp", d.as_built(), d.tangents, [*d.outputs, *d.jvps], results, create_graph, batched)


def _outputs(b: Built | Derived) -> list[Result]:
    """A result per output: ``output``, or ``output_i`` of a tuple."""
    return [Result(name) for name in result_names("output", len(b.outputs), b.is_tuple)]


def _outputs_and(b: Built, kind: str, exprs: Sequence[sp.Expr]) -> list[Result]:
    """Results: the outputs, then ``exprs``, one per input, each shaped like its input."""
    per_input = result_names(kind, len(b.inputs), len(b.inputs) != 1)
    return _outputs(b) + [Result(name, ("arg", j)) for j, name in enumerate(per_input[: len(exprs)])]


def compile_outputs(program: Program, inputs: Kinds, constants: Kinds = (), create_graph: bool = False) -> Kernel:
    """FUNC's outputs alone: what their shapes are, before cotangents shaped like them."""
    b = built(program, inputs, constants)
    return kernel_of("output", b, [], list(b.outputs), _outputs(b), create_graph)


def compile_vjp(
    program: Program, inputs: Kinds, constants: Kinds = (), create_graph: bool = False, batched: bool = False
) -> Kernel:
    """Outputs and the vector-Jacobian products of cotangents ``u``/``u_i`` (one per output)."""
    d = derive_mode(program, inputs, constants, "vjp")
    b = d.as_built()
    return kernel_of("vjp", b, d.tangents, [*b.outputs, *d.jvps], _outputs_and(b, "vjp", d.jvps), create_graph, batched)


def compile_hvp(
    program: Program, inputs: Kinds, constants: Kinds = (), create_graph: bool = False, batched: bool = False
) -> Kernel:
    """The output, its gradient, and the gradient's jvp along tangents ``v_NAME``: the
    Hessian-vector product, forward over reverse (one symbolic pass more than the gradient)."""
    d = derive_mode(program, inputs, constants, "hvp")
    b, grads = d.as_built(), d.gradients
    results = _outputs_and(b, "gradient", grads)
    products = result_names("product", len(d.jvps), len(d.jvps) != 1)
    results += [Result(name, ("arg", j)) for j, name in enumerate(products)]
    return kernel_of("hvp", b, d.tangents, [*b.outputs, *grads, *d.jvps], results, create_graph, batched)


#: the compiler of each mode: ``(program, inputs, constants, create_graph, *extra) -> Kernel``;
#: for jvp, vjp and hvp the one extra is ``batched``
COMPILERS = {"output": compile_outputs, "jvp": compile_jvp, "vjp": compile_vjp, "hvp": compile_hvp}
