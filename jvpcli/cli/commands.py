"""The terminal: click commands, kept thin. Errors become one message and an exit status here."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import click

from jvpcli import __version__
from jvpcli.cli.arguments import point_arguments
from jvpcli.errors import DialectNote, JvpcliError, NonFiniteWarning, UsageError

JVP_EXAMPLES = """\b
Examples:
  jvpcli jvp 'x.exp().sum(dim=1)' x=samples/x44.npy -v ones
  jvpcli jvp 'lambda x, y: 2*x + 3*y' '[0.1, 0.2]' '[0.3, 0.4]' -v ones -v ones
  jvpcli jvp @samples/mlp.py x=samples/x.npy W=samples/W.npy b=samples/b.npy -v rand -v rand -v rand
  python make.py | jvpcli jvp 'tanh(x) @ A' - -c A=A.npy -v - --format npy --only jvp
"""


#: commands kept in another module, imported when named: a jvp call never loads them
LAZY = {"check": "jvpcli.cli.study", "show": "jvpcli.cli.study", "codegen": "jvpcli.cli.study"}


class Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY:
            import importlib

            return getattr(importlib.import_module(LAZY[name]), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        caught: list[warnings.WarningMessage] = []
        try:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", NonFiniteWarning)
                    warnings.simplefilter("always", DialectNote)
                    return super().invoke(ctx)
            finally:  # outside the recording: a warning shown inside it is recorded again, forever
                shown = dict.fromkeys((w.category, str(w.message)) for w in caught)  # check runs FUNC thrice
                for category, message in shown:
                    kind = "note" if issubclass(category, DialectNote) else "warning"
                    click.echo(f"jvpcli: {kind}: {message}", err=True)
        except JvpcliError as exc:  # a domain error: one message on stderr, the documented exit status
            if ctx.params.get("traceback"):
                raise
            click.echo(f"jvpcli: error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Group, epilog=JVP_EXAMPLES)
@click.version_option(__version__, prog_name="jvpcli")
@click.option("--traceback", is_flag=True, help="Show Python's traceback for errors (for bug reports).")
def cli(traceback: bool) -> None:
    """Jacobian-vector products of a function given as text, like torch.autograd.functional.jvp.

    FUNC is differentiated symbolically (sympy) and evaluated with numpy.
    """


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
        from jvpcli.cli.study import verdict

        verdict(program, point, request, result, sys.stderr)


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
