"""The terminal: click commands, kept thin. Errors become one message and an exit status here."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click

from jvpcli import __version__
from jvpcli.errors import JvpcliError, NonFiniteWarning, UsageError

JVP_EXAMPLES = """\b
Examples:
  jvpcli jvp 'x.exp().sum(dim=1)' x=samples/x44.npy -v ones
  jvpcli jvp 'lambda x, y: 2*x + 3*y' '[0.1, 0.2]' '[0.3, 0.4]' -v ones -v ones
  jvpcli jvp @samples/mlp.py x=samples/x.npy W=samples/W.npy b=samples/b.npy -v rand -v rand -v rand
  python make.py | jvpcli jvp 'tanh(x) @ A' - -c A=A.npy -v - --format npy --only jvp
"""
CHECK_EXAMPLES = """\b
Examples:
  jvpcli check 'x.exp().sum(dim=1)' x=samples/x44.npy -v rand
  jvpcli check @samples/mlp.py x=samples/x.npy W=samples/W.npy b=samples/b.npy -v rand -v rand -v rand
  jvpcli check 'abs(x)' '[0.0, 1.0]' -v ones --plot kink.png
"""
SHOW_EXAMPLES = """\b
Examples:
  jvpcli show 'x.exp().sum(dim=1)'
  jvpcli show @samples/mlp.py --latex
  jvpcli show 'lambda x, y: 2*x + 3*y' --code
"""
CODEGEN_EXAMPLES = """\b
Examples:
  jvpcli codegen @samples/mlp.py -o mlp_jvp.py
  jvpcli codegen 'lambda x, y: 2*x + 3*y' -o adder.py
  python -c "import adder; print(adder.jvp(0.1, 0.3, 1.0, 1.0))"
"""
DTYPES = ("float32", "float64", "complex64", "complex128")


class CliError(click.ClickException):
    """A domain error on its way out: one message on stderr, the documented exit status."""

    def __init__(self, error: JvpcliError) -> None:
        super().__init__(error.render())
        self.exit_code = error.exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"jvpcli: error: {self.message}", err=True)


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NonFiniteWarning)
                try:
                    return super().invoke(ctx)
                finally:
                    for w in caught:
                        if issubclass(w.category, NonFiniteWarning):
                            click.echo(f"jvpcli: warning: {w.message}", err=True)
                        else:
                            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        except JvpcliError as exc:
            if ctx.params.get("traceback"):
                raise
            raise CliError(exc) from None


@click.group(cls=Group, epilog=JVP_EXAMPLES)
@click.version_option(__version__, prog_name="jvpcli")
@click.option("--traceback", is_flag=True, help="Show Python's traceback for errors (for bug reports).")
def cli(traceback: bool) -> None:
    """Jacobian-vector products of a function given as text, like torch.autograd.functional.jvp.

    FUNC is differentiated symbolically (sympy) and evaluated with numpy.
    """


def point_arguments(command: Callable[..., None]) -> Callable[..., None]:
    """FUNC, SOURCEs and the options that bind and read them, bundled as one ``Request``."""

    @functools.wraps(command)
    def bundled(
        func: str,
        sources: tuple[str, ...],
        named: tuple[str, ...],
        tangents: tuple[str, ...],
        constants: tuple[str, ...],
        dtype: str | None,
        seed: int,
        threads: int | None,
        no_cache: bool,
        **rest: Any,
    ) -> None:
        from jvpcli.cli.run import Request

        request = Request(func, sources, named, tangents, constants, dtype, seed, threads, not no_cache)
        command(request, **rest)

    decorators = [
        click.argument("func"),
        click.argument("sources", nargs=-1),
        click.option("-i", "--input", "named", multiple=True, metavar="NAME=SOURCE", help="Bind an input by name."),
        click.option(
            "-v",
            "tangents",
            multiple=True,
            metavar="[NAME=]SOURCE",
            help="A tangent, by name or in input order; repeat for each input.",
        ),
        click.option(
            "-c",
            "--constant",
            "constants",
            multiple=True,
            metavar="NAME=SOURCE",
            help="A constant: used by FUNC, never differentiated.",
        ),
        click.option(
            "--dtype", type=click.Choice(DTYPES), default=None, help="Cast every input, tangent and constant."
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of rand/randn SOURCEs."),
        click.option(
            "--threads", type=click.IntRange(min=1), default=None, help="Threads for large arrays (default: all cores)."
        ),
        click.option("--no-cache", is_flag=True, help="Differentiate afresh; neither read nor write the kernel cache."),
    ]
    for decorate in reversed(decorators):
        bundled = decorate(bundled)
    return bundled


@cli.command(epilog=JVP_EXAMPLES)
@point_arguments
@click.option("--strict", is_flag=True, help="Fail if an input or output takes no part in the derivative.")
@click.option("--create-graph", is_flag=True, help="Also report the symbolic output and jvp, in FUNC's language.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "npy", "npz"]),
    default=None,
    help="Output format (default: table, or from -o's extension).",
)
@click.option("--only", type=click.Choice(["output", "jvp"]), default=None, help="Report only these arrays.")
@click.option(
    "-o",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to a file (.json, .npy, .npz) instead of stdout, atomically.",
)
@click.option(
    "--check",
    "check_too",
    is_flag=True,
    help="Also compare the jvp with a finite difference; the verdict goes to stderr.",
)
def jvp(
    request: Any,
    strict: bool,
    create_graph: bool,
    fmt: str | None,
    only: str | None,
    out_path: str | None,
    check_too: bool,
) -> None:
    """Output and Jacobian-vector product of FUNC at the inputs, along v.

    FUNC is an expression ('2*x + 3*y'), a lambda, or a def; '@PATH' reads it from a
    file. A SOURCE is a .npy/.npz/.csv/.tsv/.txt file, '-' (a .npy array on stdin), a
    literal ('[1, 2]') or a generator ('ones(3)', 'rand(4,4)'); NAME=SOURCE binds by name.
    """
    from jvpcli.api import jvp_at
    from jvpcli.cli.output import emit

    fmt = _format(fmt, out_path)
    program, point = request.load()
    result = jvp_at(program, point, request.options(create_graph=create_graph, strict=strict))
    emit(result, fmt, only, out_path)
    if check_too:
        _verdict(program, point, request, result, sys.stderr)


@cli.command(epilog=CHECK_EXAMPLES)
@point_arguments
@click.option(
    "--plot",
    "plot_path",
    default=None,
    metavar="PATH.png",
    help="Draw <w, f(x + t v)> beside its tangent line; '-' draws it on the terminal.",
)
def check(request: Any, plot_path: str | None) -> None:
    """Compare FUNC's symbolic jvp with a central finite difference; exit 1 when they disagree.

    Tolerances follow torch.autograd.gradcheck: atol 1e-5, rtol 1e-3 in double precision;
    atol 1e-2, rtol 1e-2 in single precision. The step is eps**(1/3) scaled to x and v.
    """
    program, point = request.load()
    if plot_path is not None:
        _plot(program, point, request, plot_path)
    _verdict(program, point, request, None, sys.stdout)


def _verdict(program: Any, point: Any, request: Any, result: Any, stream: Any) -> None:
    from jvpcli.check import check as run_check
    from jvpcli.cli.render import print_check
    from jvpcli.errors import CheckFailed

    report = run_check(program, point, request.options(), result)
    print_check(stream, report, stream.isatty())
    failed = [row.name for row in report.rows if not row.passed]
    if failed:
        raise CheckFailed(f"the jvp of {failed[0]} differs from the finite difference beyond the tolerance")


def _plot(program: Any, point: Any, request: Any, path: str) -> None:
    from jvpcli.check import slope_curve
    from jvpcli.cli.plot import draw_text, save_png
    from jvpcli.evaluate import label

    ts, curves = slope_curve(program, point, request.options())
    names = [label("output", i, len(curves) > 1) for i in range(len(curves))]
    if path == "-":
        draw_text(sys.stdout, ts, curves, names)
    else:
        save_png(path, ts, curves, names)


@cli.command(epilog=SHOW_EXAMPLES)
@click.argument("func")
@click.option("--mode", type=click.Choice(["jvp"]), default="jvp", show_default=True, help="Which derivative.")
@click.option("--latex", "style", flag_value="latex", help="Print LaTeX.")
@click.option("--code", "style", flag_value="code", help="Print the numpy source jvpcli runs.")
@click.option("--complex", "complex_inputs", multiple=True, metavar="NAME", help="Treat this input as complex.")
@click.option("-c", "--constant", "constants", multiple=True, metavar="NAME", help="A name that is a constant.")
def show(func: str, mode: str, style: str | None, complex_inputs: tuple[str, ...], constants: tuple[str, ...]) -> None:
    """Print FUNC's output and derivative in FUNC's own language, as a def jvpcli reads back.

    Common subexpressions are named once. No arrays are needed: inputs are real unless --complex.
    """
    from jvpcli.cli.run import read_func
    from jvpcli.explain import show as explain

    text = explain(read_func(func), mode, style or "text", complex_inputs, constants)
    if sys.stdout.isatty() and style != "latex":
        from rich.console import Console
        from rich.syntax import Syntax

        Console().print(Syntax(text, "python"))
    else:
        click.echo(text, nl=False)


@cli.command(epilog=CODEGEN_EXAMPLES)
@click.argument("func")
@click.option("-o", "out_path", type=click.Path(dir_okay=False), required=True, help="The module to write (.py).")
@click.option("--mode", type=click.Choice(["jvp"]), default="jvp", show_default=True, help="Which derivative.")
@click.option("--complex", "complex_inputs", multiple=True, metavar="NAME", help="Treat this input as complex.")
@click.option("-c", "--constant", "constants", multiple=True, metavar="NAME", help="A name that is a constant.")
def codegen(func: str, out_path: str, mode: str, complex_inputs: tuple[str, ...], constants: tuple[str, ...]) -> None:
    """Write a standalone Python module (numpy only) with func(...) and jvp(...) -> (output, jvp)."""
    from jvpcli.arrays.sinks import write_atomic
    from jvpcli.cli.run import read_func
    from jvpcli.explain import derived
    from jvpcli.kernels.export import module_source

    text = read_func(func)
    write_atomic(out_path, module_source(text, derived(text, complex_inputs, constants), __version__).encode())


@cli.command()
@click.argument("action", type=click.Choice(["info", "clear"]))
def cache(action: str) -> None:
    """Show or clear the kernel cache (JVPCLI_CACHE_DIR, else the user cache folder)."""
    from jvpcli.kernels.cache import KernelCache, default_folder

    store = KernelCache(default_folder())
    if action == "clear":
        click.echo(f"removed {store.clear()} kernel(s) from {store.folder}")
    else:
        count, size = store.info()
        click.echo(f"{store.folder}: {count} kernel(s), {size} bytes")


def _format(fmt: str | None, out_path: str | None) -> str:
    from jvpcli.arrays.sinks import EXTENSIONS

    if out_path is None:
        chosen = fmt or "table"
        if chosen in ("npy", "npz") and sys.stdout.isatty():
            raise UsageError(f"refusing to write binary {chosen} data to a terminal: redirect stdout or use -o PATH")
        return chosen
    ext = os.path.splitext(out_path)[1].lower()
    if ext not in EXTENSIONS:
        raise UsageError(f"-o {out_path}: the extension must be one of {', '.join(EXTENSIONS)}")
    if fmt is not None and fmt != EXTENSIONS[ext]:
        raise UsageError(f"--format {fmt} does not match -o {out_path}")
    return EXTENSIONS[ext]


def main() -> None:
    cli(prog_name="jvpcli")
