"""FUNC -> its derivative as text a person reads: FUNC's own language, LaTeX, or the kernel.

Nothing here needs arrays: inputs are real unless named complex.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from jvpcli.errors import UsageError
from jvpcli.kernels import codegen
from jvpcli.kernels.compiler import MAX_GRAPH_NODES, Derived, derive_mode
from jvpcli.lang.parse import Program, parse
from jvpcli.symbolic import dag
from jvpcli.symbolic.printing import func_text

MODES = ("jvp", "vjp", "hvp", "vhp")


def derived(
    func: str | Program,
    complex_inputs: Sequence[str] = (),
    constants: Sequence[str] = (),
    dialect: str | None = None,
    mode: str = "jvp",
) -> Derived:
    """FUNC's derivative without arrays; its notes (a disputed spelling read without a hint) as warnings."""
    import warnings

    from jvpcli.errors import DialectNote

    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}")
    program = func if isinstance(func, Program) else parse(func)
    names = program.input_names(frozenset(complex_inputs), frozenset(constants))
    program = program if dialect is None else program._replace(dialect=dialect)
    d = derive_mode(program, [(n, n in complex_inputs) for n in names], [(c, False) for c in constants], mode)
    for note in d.notes:
        warnings.warn(note, DialectNote, stacklevel=2)
    return d


def result_names(d: Derived) -> list[str]:
    return d.names()


def as_def(d: Derived) -> str:
    """``def jvp(x, v_x): ...`` (``def vjp(x, u)``, ...) that jvpcli reads back as FUNC;
    subexpressions used twice become names."""
    exprs = [*d.outputs, *d.jvps]
    taken = {s.name for s in (*d.inputs, *d.tangents, *d.constants)}
    names = sp.numbered_symbols("w", exclude=[sp.Symbol(t) for t in taken])
    shared, reduced = codegen.live(*sp.cse(exprs, symbols=names, order="none"))
    params = ", ".join(s.name for s in (*d.inputs, *d.tangents, *d.constants))
    lines = [f"def {d.kind}({params}):"]
    lines += [f"    {name} = {func_text(value)}" for name, value in shared]
    results = result_names(d)
    lines += [f"    {name} = {func_text(e)}" for name, e in zip(results, reduced)]
    lines.append(f"    return {', '.join(results)}")
    return "\n".join(lines) + "\n"


def as_latex(d: Derived) -> str:
    """LaTeX has no names for shared parts: refused where the formula would be huge."""
    exprs = [*d.outputs, *d.jvps]
    if dag.tree_size(exprs) > MAX_GRAPH_NODES:
        raise UsageError("this derivative is too large for one LaTeX formula; plain 'show' names its shared parts")
    escaped = [n.replace("_", r"\_") for n in result_names(d)]
    return " \\\\\n".join(rf"\mathrm{{{n}}} = {sp.latex(e)}" for n, e in zip(escaped, exprs)) + "\n"


def as_code(d: Derived) -> str:
    args = [*d.inputs, *d.tangents, *d.constants]
    legend = ", ".join(f"a{i} = {s.name}" for i, s in enumerate(args))
    return f"# {legend}\n" + codegen.source([*d.outputs, *d.jvps], args, out=True)


STYLES = {"text": as_def, "latex": as_latex, "code": as_code}


def show(
    func: str | Program,
    mode: str = "jvp",
    style: str = "text",
    complex_inputs: Sequence[str] = (),
    constants: Sequence[str] = (),
    dialect: str | None = None,
) -> str:
    """The derivative jvpcli computes: ``text`` (a def jvpcli reads back), ``latex`` or ``code``."""
    return STYLES[style](derived(func, complex_inputs, constants, dialect, mode))
