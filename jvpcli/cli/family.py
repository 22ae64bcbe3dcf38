"""The rest of the torch.autograd.functional family as commands: vjp, jacobian, hessian, hvp, vhp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from jvpcli.cli.arguments import point_arguments

STRATEGY = click.Choice(["reverse-mode", "forward-mode"])


def _output_options(name: str, graph: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--strict, --create-graph (where torch has it), --format, --only, -o: as jvp's."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        options = [
            click.option("--strict", is_flag=True, help="Fail where torch's strict=True fails."),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["table", "json", "npy", "npz"]),
                default=None,
                help="Output format (default: table, or from -o's extension).",
            ),
            click.option(
                "--only",
                type=click.Choice(["output", name] if graph else [name]),
                default=None,
                help="Report only these arrays.",
            ),
            click.option(
                "-o", "out_path", type=click.Path(), default=None, help="Write to a file (or .zarr group), atomically."
            ),
            click.option("--check", "check_too", is_flag=True, help="Also compare with central differences (stderr)."),
        ]
        if graph:
            options.insert(1, click.option("--create-graph", is_flag=True, help="Also report the symbolic results."))
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _emit(outcome: Any, fmt: str | None, only: str | None, out_path: str | None) -> None:
    from jvpcli.cli.output import emit_nested
    from jvpcli.cli.run import output_format

    emit_nested(outcome.values, outcome.graph, output_format(fmt, out_path), only, out_path)


def _verdict(check_too: bool, name: str, program: Any, point: Any, request: Any, outcome: Any) -> None:
    if check_too:
        import sys

        from jvpcli.cli.study import family_verdict

        family_verdict(name, program, point, request, outcome, sys.stderr)


VJP_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli vjp 'x.exp().sum(dim=1)' x=samples/x44.npy -v ones
  jvpcli vjp @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy
  jvpcli vjp 'sin(x) * x' '[0.5, 1.5]' -v '[[1, 0], [0, 1]]' --batch
"""


@click.command(epilog=VJP_EXAMPLES, short_help="Output and vector-Jacobian product (the gradient).")
@point_arguments
@_output_options("vjp", graph=True)
@click.option("--batch", is_flag=True, help="Each cotangent carries a leading batch axis.")
def vjp(
    request: Any,
    strict: bool,
    create_graph: bool,
    fmt: str | None,
    only: str | None,
    out_path: str | None,
    check_too: bool,
    batch: bool,
) -> None:
    """Output and vector-Jacobian product u^T J of FUNC at the inputs, like torch.autograd.functional.vjp.

    -v gives one cotangent per output, in output order (ones/zeros/rand/randn take the
    output's shape); it may be omitted when FUNC returns a single one-element value.
    """
    from jvpcli.family import vjp_at

    program, point, us = request.load_cotangents()
    options = request.options(create_graph=create_graph, strict=strict)
    outcome = vjp_at(program, point.inputs, us, point.constants, options, batch=batch)
    _emit(outcome, fmt, only, out_path)
    _verdict(check_too, "vjp", program, point, request, outcome)


JACOBIAN_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli jacobian 'sin(x) * x' 'linspace(0, 1, 5)'   # diagonal: one jvp
  jvpcli jacobian 'lambda x, W: tanh(W @ x)' samples/x.npy samples/W.npy \\
      --format json
"""


@click.command(epilog=JACOBIAN_EXAMPLES, short_help="The Jacobian of FUNC.")
@point_arguments
@_output_options("jacobian", graph=False)
@click.option("--strategy", type=STRATEGY, default="reverse-mode", show_default=True, help="How it is computed.")
@click.option("--vectorize", is_flag=True, help="Accepted for torch's sake: evaluation is vectorised anyway.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, help="At most N basis directions at once.")
def jacobian(
    request: Any,
    strict: bool,
    fmt: str | None,
    only: str | None,
    out_path: str | None,
    check_too: bool,
    strategy: str,
    vectorize: bool,
    chunk_size: int | None,
) -> None:
    """The Jacobian of FUNC at the inputs, like torch.autograd.functional.jacobian.

    One array of shape output.shape + input.shape, or lists over the outputs and inputs.
    """
    from jvpcli.family import jacobian_at

    program, point = request.load(tangents=False)
    outcome = jacobian_at(program, point.inputs, point.constants, request.options(strict=strict), strategy, chunk_size)
    _emit(outcome, fmt, only, out_path)
    _verdict(check_too, "jacobian", program, point, request, outcome)


HESSIAN_EXAMPLES = """\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli hessian '(x**3).sum()' '[1.0, 2.0]'
  jvpcli hessian @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy \\
      -o hessian.npz                    # keys hessian_0_0, hessian_0_1, ...
"""


@click.command(epilog=HESSIAN_EXAMPLES, short_help="The Hessian of a one-element FUNC.")
@point_arguments
@_output_options("hessian", graph=False)
@click.option("--outer-jacobian-strategy", "strategy", type=STRATEGY, default="reverse-mode", show_default=True)
@click.option("--vectorize", is_flag=True, help="Accepted for torch's sake: evaluation is vectorised anyway.")
def hessian(
    request: Any,
    strict: bool,
    fmt: str | None,
    only: str | None,
    out_path: str | None,
    check_too: bool,
    strategy: str,
    vectorize: bool,
) -> None:
    """The Hessian of FUNC (one output with one element), like torch.autograd.functional.hessian."""
    from jvpcli.family import hessian_at

    program, point = request.load(tangents=False)
    outcome = hessian_at(program, point.inputs, point.constants, request.options(strict=strict), strategy)
    _emit(outcome, fmt, only, out_path)
    _verdict(check_too, "hessian", program, point, request, outcome)


def _product_command(kind: str, what: str) -> click.Command:
    examples = f"""\b
Examples (from the project folder; the arrays are in samples/):
  jvpcli {kind} '(x**3).sum()' '[1.0, 2.0]' -v '[1, 0]'
  jvpcli {kind} @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy \\
      -v rand -v rand -v rand
"""

    @click.command(kind, epilog=examples, short_help=f"Output and {what}.")
    @point_arguments
    @_output_options(kind, graph=True)
    def command(
        request: Any,
        strict: bool,
        create_graph: bool,
        fmt: str | None,
        only: str | None,
        out_path: str | None,
        check_too: bool,
    ) -> None:
        from jvpcli.family import product_at

        program, point = request.load()
        options = request.options(create_graph=create_graph, strict=strict)
        outcome = product_at(kind, program, point.inputs, point.tangents, point.constants, options)
        _emit(outcome, fmt, only, out_path)
        _verdict(check_too, kind, program, point, request, outcome)

    command.help = (
        f"Output and {what} of FUNC (one output with one element), like torch.autograd.functional.{kind}.\n\n"
        "-v gives one tangent per input, as jvp's."
    )
    return command


hvp = _product_command("hvp", "Hessian-vector product H v")
vhp = _product_command("vhp", "vector-Hessian product v^T H")
