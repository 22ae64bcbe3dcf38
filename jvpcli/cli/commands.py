"""The terminal: click commands, kept thin. Errors become one message and an exit status here."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import click

from jvpcli import __version__
from jvpcli.cli import streams
from jvpcli.cli.arguments import point_arguments
from jvpcli.errors import JvpcliError, JvpcliWarning, UsageError, cut

#: the status of an unexpected failure (a bug): a failure while computing
INTERNAL = 1

JVP_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli jvp 'x.exp().sum(dim=1)' x=samples/x44.npy -v ones
  jvpcli jvp 'lambda x, y: 2*x + 3*y' '[0.1, 0.2]' '[0.3, 0.4]' \\
      -v ones -v ones
  jvpcli jvp 'x**2' 3.0         # a single one-element input: v defaults to 1
  jvpcli jvp @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy \\
      -v rand -v rand -v rand
  python samples/make_data.py | jvpcli jvp 'tanh(x) @ A' - -v - \\
      -c A=samples/A.npy --format npy --only jvp | python samples/next.py
"""
MAIN_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli jvp '2*x + 3*y' x='[0.1, 0.2]' y='[0.3, 0.4]' -v ones -v ones
  jvpcli show @samples/mlp.py
  jvpcli check 'abs(x)' '[0.0, 1.0]' -v ones
  jvpcli codegen @samples/mlp.py -o mlp_jvp.py
  jvpcli jvp --help                     # each command's options and examples
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
                    warnings.simplefilter("always", JvpcliWarning)
                    result = super().invoke(ctx)
                with streams.writing():  # what is still buffered: a full disk shows here
                    return result
            finally:  # outside the recording: a warning shown inside it is recorded again, forever
                for w in caught:
                    click.echo(f"jvpcli: warning: {w.message}", err=True)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (streams.PipeClosed, BrokenPipeError):  # the reader has gone: quietly, one status
            streams.silence_stdout()
            ctx.exit(streams.PIPE_CLOSED)
        except JvpcliError as exc:  # a domain error: one message on stderr, the documented exit status
            if ctx.params.get("traceback"):
                raise
            click.echo(f"jvpcli: error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # the system refused (a write to a full or closed stream)
            if ctx.params.get("traceback"):
                raise
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"jvpcli: error: {exc.strerror or exc}{cut(where)}", err=True)
            ctx.exit(streams.OUTPUT_FAILED)
        except (Exception, RecursionError) as exc:  # a bug: still one message, never a traceback
            if ctx.params.get("traceback"):
                raise
            message = f"{type(exc).__name__}: {cut(str(exc))} (a bug in jvpcli: rerun with --traceback and report it)"
            click.echo(f"jvpcli: internal error: {message}", err=True)
            ctx.exit(INTERNAL)


@click.group(cls=Group, epilog=MAIN_EXAMPLES)
@click.version_option(__version__, prog_name="jvpcli")
@click.option("--traceback", is_flag=True, help="Show Python's traceback for errors (for bug reports).")
def cli(traceback: bool) -> None:
    """Jacobian-vector products of a function given as text, like torch.autograd.functional.jvp.

    FUNC is differentiated symbolically (sympy) and evaluated with numpy.
    """


@cli.command(epilog=JVP_EXAMPLES, short_help="Output and Jacobian-vector product of FUNC along v.")
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
    from jvpcli.arrays.npystream import Spool
    from jvpcli.cli.output import emit
    from jvpcli.cli.progress import bar_for

    fmt = _format(fmt, out_path)
    program, point = request.load(lazy=not check_too)
    bar = bar_for(sys.stderr, request.quiet)
    with Spool(os.path.dirname(os.path.abspath(out_path)) if out_path else None) as spool:
        try:
            options = request.options(create_graph=create_graph, strict=strict, spool=spool, progress=bar)
            result = jvp_at(program, point, options)
        finally:
            if bar is not None:
                bar.close()
        emit(result, fmt, only, out_path, spool)
    if check_too:
        from jvpcli.cli.study import verdict

        verdict(program, point, request, result, sys.stderr)


@cli.command(short_help="Show or clear the kernel cache.")
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
    streams.run(lambda: cli.main(prog_name="jvpcli"))
