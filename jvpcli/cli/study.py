"""Commands that look at the derivative itself: show it, export it, check it."""

from __future__ import annotations

import sys
from typing import Any

import click

from jvpcli import __version__
from jvpcli.cli.arguments import formula_arguments, point_arguments
from jvpcli.errors import UsageError

CHECK_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli check 'x.exp().sum(dim=1)' x=samples/x44.npy -v rand
  jvpcli check @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy \\
      -v rand -v rand -v rand
  jvpcli check 'abs(x)' '[0.0, 1.0]' -v ones --plot -   # a kink, drawn here
"""
SHOW_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli show 'x.exp().sum(dim=1)'
  jvpcli show @samples/mlp.py --latex
  jvpcli show 'lambda x, y: 2*x + 3*y' --code
"""
CODEGEN_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli codegen @samples/mlp.py -o mlp_jvp.py
  jvpcli codegen 'lambda x, y: 2*x + 3*y' -o adder.py
  python -c "import adder; print(adder.jvp(0.1, 0.3, 1.0, 1.0))"
"""


@click.command(epilog=CHECK_EXAMPLES, short_help="Compare the jvp with a finite difference; exit 1 if they differ.")
@point_arguments
@click.option(
    "--plot",
    "plot_path",
    default=None,
    metavar="PATH.png",
    help="Draw <w, f(x + t v)> beside its tangent line; '-' draws it on the terminal.",
)
@click.option(
    "--mode",
    type=click.Choice(["jvp", "vjp", "jacobian", "hessian", "hvp", "vhp"]),
    default="jvp",
    show_default=True,
    help="Which derivative to check (-v as that command takes it).",
)
def check(request: Any, plot_path: str | None, mode: str) -> None:
    """Compare FUNC's symbolic derivative with central finite differences; exit 1 when they disagree.

    Tolerances follow torch.autograd.gradcheck: atol 1e-5, rtol 1e-3 in double precision;
    atol 1e-2, rtol 1e-2 in single precision. The step is eps**(1/3) scaled to x and v.
    """
    if mode != "jvp":
        from jvpcli import family

        if plot_path is not None:
            raise UsageError("--plot draws the jvp: use it with --mode jvp")
        options = request.options()
        if mode == "vjp":
            program, point, us = request.load_cotangents()
            outcome = family.vjp_at(program, point.inputs, us, point.constants, options)
        elif mode in ("hvp", "vhp"):
            program, point = request.load()
            outcome = family.product_at(mode, program, point.inputs, point.tangents, point.constants, options)
        else:
            program, point = request.load(tangents=False)
            compute = family.jacobian_at if mode == "jacobian" else family.hessian_at
            outcome = compute(program, point.inputs, point.constants, options)
        family_verdict(mode, program, point, request, outcome, sys.stdout)
        return
    program, point = request.load()
    if plot_path is not None:
        _plot(program, point, request, plot_path)
    verdict(program, point, request, None, sys.stdout)


def verdict(program: Any, point: Any, request: Any, result: Any, stream: Any) -> None:
    from jvpcli.check import check as run_check
    from jvpcli.cli.render import print_check
    from jvpcli.errors import CheckFailed

    report = run_check(program, point, request.options(), result)
    print_check(stream, report, stream.isatty())
    failed = [row.name for row in report.rows if not row.passed]
    if failed:
        raise CheckFailed(f"the jvp of {failed[0]} differs from the finite difference beyond the tolerance")


def family_verdict(name: str, program: Any, point: Any, request: Any, outcome: Any, stream: Any) -> None:
    from jvpcli.check import family_check
    from jvpcli.cli.render import print_check
    from jvpcli.errors import CheckFailed

    report = family_check(name, program, point, request.options(), outcome)
    print_check(stream, report, stream.isatty(), f"{name} against central differences")
    failed = [row.name for row in report.rows if not row.passed]
    if failed:
        raise CheckFailed(f"{failed[0]} differs from the central differences beyond the tolerance")


def _plot(program: Any, point: Any, request: Any, path: str) -> None:
    from jvpcli.check import slope_curve
    from jvpcli.cli.plot import draw_text, save_png
    from jvpcli.kernels.kernel import label

    ts, curves = slope_curve(program, point, request.options())
    names = [label("output", i, len(curves) > 1) for i in range(len(curves))]
    if path == "-":
        draw_text(sys.stdout, ts, curves, names)
    else:
        save_png(path, ts, curves, names)


@click.command(epilog=SHOW_EXAMPLES, short_help="Print the derivative as FUNC text, LaTeX or numpy code.")
@formula_arguments
@click.option("--latex", "style", flag_value="latex", help="Print LaTeX.")
@click.option("--code", "style", flag_value="code", help="Print the numpy source jvpcli runs.")
def show(
    func: str,
    mode: str,
    style: str | None,
    complex_inputs: tuple[str, ...],
    constants: tuple[str, ...],
    dialect: str | None,
) -> None:
    """Print FUNC's output and derivative in FUNC's own language, as a def jvpcli reads back.

    Common subexpressions are named once. No arrays are needed: inputs are real unless --complex.
    """
    from jvpcli.cli.run import read_func
    from jvpcli.explain import show as explain

    text = explain(read_func(func), mode, style or "text", complex_inputs, constants, dialect)
    if sys.stdout.isatty() and style != "latex":
        from rich.console import Console
        from rich.syntax import Syntax

        Console().print(Syntax(text, "python"))
    else:
        click.echo(text, nl=False)


@click.command(epilog=CODEGEN_EXAMPLES, short_help="Write a standalone numpy module with func() and jvp().")
@formula_arguments
@click.option("-o", "out_path", type=click.Path(dir_okay=False), required=True, help="The module to write (.py).")
def codegen(
    func: str,
    out_path: str,
    mode: str,
    complex_inputs: tuple[str, ...],
    constants: tuple[str, ...],
    dialect: str | None,
) -> None:
    """Write a standalone Python module (numpy only) with func(...) and jvp(...) -> (output, jvp)."""
    from jvpcli.arrays.sinks import write_atomic
    from jvpcli.cli.run import read_func
    from jvpcli.explain import derived
    from jvpcli.kernels.export import module_source

    text = read_func(func)
    d = derived(text, complex_inputs, constants, dialect, mode)
    write_atomic(out_path, module_source(text, d, __version__).encode())
    inputs = ", ".join(s.name for s in (*d.inputs, *d.constants))
    every = ", ".join(s.name for s in (*d.inputs, *d.tangents, *d.constants))
    click.echo(f"jvpcli: wrote {out_path}: func({inputs}) and {d.kind}({every}) -> (output, {d.kind})", err=True)
