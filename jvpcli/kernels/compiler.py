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
from jvpcli.kernels.kernel import Kernel, Result, label
from jvpcli.lang.build import build
from jvpcli.lang.parse import Program
from jvpcli.symbolic import dag, derive
from jvpcli.symbolic.printing import func_text
from jvpcli.symbolic.shapes import reduces, row_breaker

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
    #: a disputed spelling read without a hint of its library (language.md): one line for stderr
    notes: tuple[str, ...] = ()


def derive_jvp(
    program: Program, inputs: Sequence[tuple[str, bool]], constants: Sequence[tuple[str, bool]] = ()
) -> Derived:
    """``inputs`` and ``constants`` are ``(name, is_complex)`` pairs in binding order."""
    xs = [symbol(n, c) for n, c in inputs]
    cs = [symbol(n, c) for n, c in constants]
    tnames = tangent_names([n for n, _ in inputs], {n for n, _ in (*inputs, *constants)})
    ts = [symbol(t, c) for t, (_, c) in zip(tnames, inputs)]
    built = build(program, {s.name: s for s in (*xs, *cs)})
    jvps = derive.jvp(built.outputs, dict(zip(xs, ts)))
    return Derived(tuple(xs), tuple(ts), tuple(cs), built.outputs, tuple(jvps), built.is_tuple, built.notes)


def depends(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> tuple[tuple[int, ...], ...]:
    """Per expression, the positions of the arguments it depends on."""
    return tuple(tuple(i for i, a in enumerate(args) if a in dag.free_symbols([e])) for e in exprs)


def result_names(kind: str, n: int, is_tuple: bool) -> list[str]:
    return [label(kind, i, is_tuple) for i in range(n)]


def kernel_of(
    mode: str,
    d: Derived,
    extras: Sequence[sp.Symbol],
    exprs: Sequence[sp.Expr],
    results: Sequence[Result],
    create_graph: bool,
) -> Kernel:
    """The kernel computing ``exprs`` from FUNC's inputs, ``extras`` and constants."""
    if create_graph and dag.tree_size(exprs) > MAX_GRAPH_NODES:
        raise UsageError(
            f"the graph of this FUNC would print {dag.tree_size(exprs)} terms (the limit is {MAX_GRAPH_NODES}): "
            "'jvpcli show' prints it with shared parts named once"
        )
    args = [*d.inputs, *extras, *d.constants]
    breaker = row_breaker(exprs)
    return Kernel(
        mode=mode,
        inputs=tuple(x.name for x in d.inputs),
        extras=tuple(e.name for e in extras),
        constants=tuple(c.name for c in d.constants),
        source=codegen.source(exprs, args, out=True),
        results=tuple(results),
        is_tuple=d.is_tuple,
        depends=depends(exprs, args),
        row_wise=breaker is None,
        cost=dag.node_count(exprs),
        reduces=reduces(exprs),
        graph=tuple(map(func_text, exprs)) if create_graph else None,
        row_breaker=_short(func_text(breaker)) if breaker is not None else "",
        notes=d.notes,
    )


def _short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def compile_jvp(
    program: Program,
    inputs: Sequence[tuple[str, bool]],
    constants: Sequence[tuple[str, bool]] = (),
    create_graph: bool = False,
) -> Kernel:
    """The numpy kernel of FUNC's outputs and jvps (each shaped like its output)."""
    d = derive_jvp(program, inputs, constants)
    n = len(d.outputs)
    results = [Result(name) for name in result_names("output", n, d.is_tuple)]
    results += [Result(name, ("result", i)) for i, name in enumerate(result_names("jvp", n, d.is_tuple))]
    return kernel_of("jvp", d, d.tangents, [*d.outputs, *d.jvps], results, create_graph)


#: the compiler of each mode: ``(program, inputs, constants, create_graph, *extra) -> Kernel``
COMPILERS = {"jvp": compile_jvp}
