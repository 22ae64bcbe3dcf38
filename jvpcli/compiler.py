"""FUNC + the kinds of its inputs -> a ``Kernel``: numpy source plus facts about it.

This is the symbolic half of the pipeline (build -> differentiate -> codegen), the only
part that imports sympy. Its result is plain data, independent of array sizes and values.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from jvpcli.kernels import codegen
from jvpcli.kernels.kernel import Graph, Kernel
from jvpcli.lang.build import build
from jvpcli.lang.parse import Program
from jvpcli.symbolic import derive
from jvpcli.symbolic.printing import func_text
from jvpcli.symbolic.shapes import acts_row_wise


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


def compile_jvp(
    program: Program,
    inputs: Sequence[tuple[str, bool]],
    constants: Sequence[tuple[str, bool]] = (),
    create_graph: bool = False,
) -> Kernel:
    """``inputs`` and ``constants`` are ``(name, is_complex)`` pairs in binding order."""
    xs = [symbol(n, c) for n, c in inputs]
    cs = [symbol(n, c) for n, c in constants]
    names = [n for n, _ in inputs]
    tnames = tangent_names(names, {n for n, _ in (*inputs, *constants)})
    ts = [symbol(t, c) for t, (_, c) in zip(tnames, inputs)]
    built = build(program, {s.name: s for s in (*xs, *cs)})
    jvps = derive.jvp(built.outputs, dict(zip(xs, ts)))
    used = set().union(*(j.free_symbols for j in jvps))
    graph = None
    if create_graph:
        graph = Graph(tuple(map(func_text, built.outputs)), tuple(map(func_text, jvps)), tuple(tnames))
    return Kernel(
        inputs=tuple(names),
        constants=tuple(n for n, _ in constants),
        source=codegen.source([*built.outputs, *jvps], [*xs, *ts, *cs], len(built.outputs)),
        n_outputs=len(built.outputs),
        is_tuple=built.is_tuple,
        unused_inputs=tuple(n for n, t in zip(names, ts) if t not in used),
        constant_outputs=tuple(i for i, j in enumerate(jvps) if not j.free_symbols & set(ts)),
        row_wise=acts_row_wise([*built.outputs, *jvps]),
        cost=int(sp.count_ops([*built.outputs, *jvps])),
        graph=graph,
    )
