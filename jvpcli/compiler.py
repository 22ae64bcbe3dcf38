"""FUNC + the kinds of its inputs -> a ``Kernel``: numpy source plus facts about it.

This is the symbolic half of the pipeline (build -> differentiate -> codegen), the only
part that imports sympy. Its result is plain data, independent of array sizes and values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from jvpcli.errors import UsageError
from jvpcli.kernels import codegen
from jvpcli.kernels.kernel import Graph, Kernel
from jvpcli.lang.build import build
from jvpcli.lang.parse import Program
from jvpcli.symbolic import dag, derive
from jvpcli.symbolic.printing import func_text
from jvpcli.symbolic.shapes import acts_row_wise, reduces

MAX_GRAPH_NODES = 100_000


def symbol(name: str, is_complex: bool) -> sp.Symbol:
    """Real data gets a real symbol, so real derivatives carry no re/im terms."""
    return sp.Symbol(name, complex=True) if is_complex else sp.Symbol(name, real=True)


def tangent_names(inputs: Sequence[str], taken: set[str]) -> list[str]:
    names = []
    for name in inputs:
        candidate, n = f"v_{name}", 0
        while candidate in taken:
            n += 1
            candidate = f"v_{name}_{n}"
        taken.add(candidate)
        names.append(candidate)
    return names


@dataclass(frozen=True)
class Derived:
    """FUNC's outputs and their jvps as expressions, with the symbols they are written in."""

    inputs: tuple[sp.Symbol, ...]
    tangents: tuple[sp.Symbol, ...]
    constants: tuple[sp.Symbol, ...]
    outputs: tuple[sp.Expr, ...]
    jvps: tuple[sp.Expr, ...]
    is_tuple: bool
    notes: tuple[str, ...] = ()


def derive_jvp(
    program: Program,
    inputs: Sequence[tuple[str, bool]],
    constants: Sequence[tuple[str, bool]] = (),
    dialect: str | None = None,
) -> Derived:
    """``inputs`` and ``constants`` are ``(name, is_complex)`` pairs in binding order;
    ``dialect`` reads the spellings numpy and torch dispute (None: the text's hints)."""
    xs = [symbol(n, c) for n, c in inputs]
    cs = [symbol(n, c) for n, c in constants]
    tnames = tangent_names([n for n, _ in inputs], {n for n, _ in (*inputs, *constants)})
    ts = [symbol(t, c) for t, (_, c) in zip(tnames, inputs)]
    built = build(program, {s.name: s for s in (*xs, *cs)}, dialect)
    jvps = derive.jvp(built.outputs, dict(zip(xs, ts)))
    return Derived(tuple(xs), tuple(ts), tuple(cs), built.outputs, tuple(jvps), built.is_tuple, built.notes)


def compile_jvp(
    program: Program,
    inputs: Sequence[tuple[str, bool]],
    constants: Sequence[tuple[str, bool]] = (),
    create_graph: bool = False,
    dialect: str | None = None,
) -> Kernel:
    """The numpy kernel of FUNC's output and jvp, and what strict mode needs to know."""
    d = derive_jvp(program, inputs, constants, dialect)
    used = dag.free_symbols(d.jvps)
    exprs = [*d.outputs, *d.jvps]
    graph = None
    if create_graph and dag.tree_size(exprs) > MAX_GRAPH_NODES:
        raise UsageError(
            f"the graph of this FUNC would print {dag.tree_size(exprs)} terms (the limit is {MAX_GRAPH_NODES}): "
            "'jvpcli show' prints it with shared parts named once"
        )
    if create_graph:
        graph = Graph(
            tuple(map(func_text, d.outputs)), tuple(map(func_text, d.jvps)), tuple(t.name for t in d.tangents)
        )
    return Kernel(
        inputs=tuple(x.name for x in d.inputs),
        constants=tuple(c.name for c in d.constants),
        source=codegen.source(exprs, [*d.inputs, *d.tangents, *d.constants], len(d.outputs), out=True),
        n_outputs=len(d.outputs),
        is_tuple=d.is_tuple,
        unused_inputs=tuple(x.name for x, t in zip(d.inputs, d.tangents) if t not in used),
        constant_outputs=tuple(i for i, j in enumerate(d.jvps) if not dag.free_symbols([j]) & set(d.tangents)),
        row_wise=acts_row_wise(exprs),
        cost=dag.node_count(exprs),
        reduces=reduces(exprs),
        graph=graph,
        notes=d.notes,
    )
