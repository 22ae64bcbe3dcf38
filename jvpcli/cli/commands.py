"""The terminal: click commands, kept thin. Errors become one message and an exit status here."""

from __future__ import annotations

from typing import Any

import click

from jvpcli import __version__
from jvpcli.cli import spec
from jvpcli.cli.arguments import options, point_arguments
from jvpcli.cli.main import guarded

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
        return guarded(lambda: super(Group, self).invoke(ctx), ctx.params.get("traceback", False), ctx.exit)


@click.group(cls=Group, epilog=MAIN_EXAMPLES)
@click.version_option(__version__, prog_name="jvpcli")
@click.option("--traceback", is_flag=True, help="Show Python's traceback for errors (for bug reports).")
def cli(traceback: bool) -> None:
    """Jacobian-vector products of a function given as text, like torch.autograd.functional.jvp.

    FUNC is differentiated symbolically (sympy) and evaluated with numpy.
    """


@cli.command(epilog=JVP_EXAMPLES, short_help="Output and Jacobian-vector product of FUNC along v.")
@point_arguments
@options(spec.JVP)
def jvp(request: Any, **flags: Any) -> None:
    """Output and Jacobian-vector product of FUNC at the inputs, along v.

    FUNC is an expression ('2*x + 3*y'), a lambda, or a def; '@PATH' reads it from a
    file. A SOURCE is a .npy/.npz/.csv/.tsv/.txt file, '-' (a .npy array on stdin), a
    literal ('[1, 2]') or a generator ('ones(3)', 'rand(4,4)'); NAME=SOURCE binds by name.
    """
    from jvpcli.cli.run import jvp as run

    run(request, **flags)


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


def main() -> None:
    """Every command line ``jvpcli.cli.main`` does not run itself."""
    cli(prog_name="jvpcli")
