"""FUNC -> its derivative as text a person reads: FUNC's own language, LaTeX, or the kernel.

Nothing here needs arrays: inputs are real unless named complex.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from jvpcli.compiler import Derived, derive_jvp
from jvpcli.kernels import codegen
from jvpcli.lang.parse import Program, parse
from jvpcli.symbolic.printing import func_text

MODES = ("jvp",)


@dataclass(frozen=True)
class Shown:
    """A ``def`` in FUNC's language that returns outputs and jvps, shared parts named once."""

    text: str
    latex: str
    code: str


def derived(func: str | Program, complex_inputs: Sequence[str] = (), constants: Sequence[str] = ()) -> Derived:
    program = func if isinstance(func, Program) else parse(func)
    names = program.input_names(frozenset(complex_inputs), frozenset(constants))
    return derive_jvp(program, [(n, n in complex_inputs) for n in names], [(c, False) for c in constants])


def result_names(d: Derived) -> list[str]:
    n = len(d.outputs)
    if not d.is_tuple:
        return ["output", "jvp"]
    return [f"output_{i}" for i in range(n)] + [f"jvp_{i}" for i in range(n)]


def as_def(d: Derived) -> str:
    """``def jvp(x, v_x): ...`` that jvpcli reads back as FUNC; subexpressions used twice become names."""
    exprs = [*d.outputs, *d.jvps]
    taken = {s.name for s in (*d.inputs, *d.tangents, *d.constants)}
    names = sp.numbered_symbols("w", exclude=[sp.Symbol(t) for t in taken])
    shared, reduced = codegen.live(*sp.cse(exprs, symbols=names))
    params = ", ".join(s.name for s in (*d.inputs, *d.tangents, *d.constants))
    lines = [f"def jvp({params}):"]
    lines += [f"    {name} = {func_text(value)}" for name, value in shared]
    names = result_names(d)
    lines += [f"    {name} = {func_text(e)}" for name, e in zip(names, reduced)]
    lines.append(f"    return {', '.join(names)}")
    return "\n".join(lines) + "\n"


def as_latex(d: Derived) -> str:
    names = result_names(d)
    escaped = [n.replace("_", r"\_") for n in names]
    tex = [rf"\mathrm{{{n}}} = {sp.latex(e)}" for n, e in zip(escaped, (*d.outputs, *d.jvps))]
    return " \\\\\n".join(tex) + "\n"


def as_code(d: Derived) -> str:
    args = [*d.inputs, *d.tangents, *d.constants]
    legend = ", ".join(f"a{i} = {s.name}" for i, s in enumerate(args))
    return f"# {legend}\n" + codegen.source([*d.outputs, *d.jvps], args, len(d.outputs))


def show(
    func: str | Program, mode: str = "jvp", complex_inputs: Sequence[str] = (), constants: Sequence[str] = ()
) -> Shown:
    """The derivative jvpcli computes for FUNC, in three spellings."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    d = derived(func, complex_inputs, constants)
    return Shown(as_def(d), as_latex(d), as_code(d))
