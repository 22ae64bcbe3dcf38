"""The rest of the torch.autograd.functional family as commands: vjp, jacobian, hessian, hvp, vhp.

One builder makes them all: FUNC and its point (with -v for tangents, cotangents or not at
all), --strict, --create-graph, --format, --only, -o and --check, then the command's own
options; each command is the function that computes its ``Outcome``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import click

from jvpcli.cli import spec
from jvpcli.cli.arguments import point_arguments

STRATEGY = click.Choice(["reverse-mode", "forward-mode"])
EXAMPLES = "\b\nExamples (from the project folder; the arrays are in samples/):\n"
#: computes a command's outcome from its request, Options and own parameters: (program, point, outcome)
Compute = Callable[..., tuple[Any, Any, Any]]


def _command(
    name: str,
    short: str,
    text: str,
    examples: str,
    point: Sequence[spec.Opt],
    compute: Compute,
    own: Sequence[Callable[[Callable[..., None]], Callable[..., None]]] = (),
    graph: str = "Also report the symbolic results.",
) -> click.Command:
    """A command of the family: ``compute(request, options, **own)`` gives its outcome."""

    def command(request: Any, **params: Any) -> None:
        """The shared options, then the command's own ones (``params``) for ``compute``."""
        from jvpcli.cli.output import emit_nested
        from jvpcli.cli.run import output_format

        only, out_path, check_too = (params.pop(k) for k in ("only", "out_path", "check_too"))
        chosen = output_format(params.pop("fmt"), out_path)
        options = request.options(create_graph=params.pop("create_graph"), strict=params.pop("strict"))
        program, point, outcome = compute(request, options, **params)
        emit_nested(outcome.values, outcome.graph, chosen, only, out_path)
        if check_too:
            import sys

            from jvpcli.cli.study import family_verdict

            family_verdict(name, program, point, request, outcome, sys.stderr)

    products = name not in ("jacobian", "hessian")
    decorators: list[Any] = [
        click.command(name, epilog=EXAMPLES + examples, short_help=short, help=text),
        functools.partial(point_arguments, point=point),
        click.option("--strict", is_flag=True, help="Fail where torch's strict=True fails."),
        click.option("--create-graph", is_flag=True, help=graph),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "npy", "npz"]),
            default=None,
            help="Output format (default: table, or from -o's extension).",
        ),
        click.option(
            "--only",
            type=click.Choice(["output", name] if products else [name]),
            default=None,
            help="Report only these arrays.",
        ),
        click.option(
            "-o", "out_path", type=click.Path(), default=None, help="Write to a file (or .zarr group), atomically."
        ),
        click.option("--check", "check_too", is_flag=True, help="Also compare with central differences (stderr)."),
        *own,
    ]
    made: Any = command
    for decorate in reversed(decorators):
        made = decorate(made)
    return made


def _vjp(request: Any, options: Any, batch: bool) -> tuple[Any, Any, Any]:
    from jvpcli.family import vjp_at

    program, point, us = request.load_cotangents()
    return program, point, vjp_at(program, point.inputs, us, point.constants, options, batch=batch)


vjp = _command(
    "vjp",
    "Output and vector-Jacobian product (the gradient).",
    "Output and vector-Jacobian product u^T J of FUNC at the inputs, like torch.autograd.functional.vjp.\n\n"
    "-v gives one cotangent per output, in output order (ones/zeros/rand/randn take the "
    "output's shape); it may be omitted when FUNC returns a single one-element value.",
    """  jvpcli vjp 'x.exp().sum(dim=1)' x=samples/x44.npy -v ones
  jvpcli vjp @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy
  jvpcli vjp 'sin(x) * x' '[0.5, 1.5]' -v '[[1, 0], [0, 1]]' --batch
""",
    spec.POINT_COTANGENTS,
    _vjp,
    [click.option("--batch", is_flag=True, help="Each cotangent carries a leading batch axis.")],
)

#: jacobian and hessian: torch's create_graph makes their results differentiable; here it
#: changes no number, only what --strict checks, as in torch
NUMBERS_ONLY = "Accepted as torch's create_graph: the same numbers; --strict then checks what torch's does."
VECTORIZE = click.option(
    "--vectorize", is_flag=True, help="Accepted for torch's sake: evaluation is vectorised anyway."
)


def _jacobian(request: Any, options: Any, strategy: str, vectorize: bool, chunk_size: int | None):
    from jvpcli.family import jacobian_at

    program, point = request.load(tangents=False)
    return program, point, jacobian_at(program, point.inputs, point.constants, options, strategy, chunk_size)


jacobian = _command(
    "jacobian",
    "The Jacobian of FUNC.",
    "The Jacobian of FUNC at the inputs, like torch.autograd.functional.jacobian.\n\n"
    "One array of shape output.shape + input.shape, or lists over the outputs and inputs.",
    """  jvpcli jacobian 'sin(x) * x' 'linspace(0, 1, 5)'   # diagonal: one jvp
  jvpcli jacobian 'lambda x, W: tanh(W @ x)' samples/x.npy samples/W.npy \\
      --format json
""",
    spec.POINT_ONLY,
    _jacobian,
    [
        click.option(
            "--strategy", type=STRATEGY, default="reverse-mode", show_default=True, help="How it is computed."
        ),
        VECTORIZE,
        click.option(
            "--chunk-size", type=click.IntRange(min=1), default=None, help="At most N basis directions at once."
        ),
    ],
    NUMBERS_ONLY,
)


def _hessian(request: Any, options: Any, strategy: str, vectorize: bool):
    from jvpcli.family import hessian_at

    program, point = request.load(tangents=False)
    return program, point, hessian_at(program, point.inputs, point.constants, options, strategy)


hessian = _command(
    "hessian",
    "The Hessian of a one-element FUNC.",
    "The Hessian of FUNC (one output with one element), like torch.autograd.functional.hessian.",
    """  jvpcli hessian '(x**3).sum()' '[1.0, 2.0]'
  jvpcli hessian @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy \\
      -o hessian.npz                    # keys hessian_0_0, hessian_0_1, ...
""",
    spec.POINT_ONLY,
    _hessian,
    [
        click.option("--outer-jacobian-strategy", "strategy", type=STRATEGY, default="reverse-mode", show_default=True),
        VECTORIZE,
    ],
    NUMBERS_ONLY,
)


def _product_command(kind: str, what: str) -> click.Command:
    def compute(request: Any, options: Any) -> tuple[Any, Any, Any]:
        from jvpcli.family import product_at

        program, point = request.load()
        return program, point, product_at(kind, program, point.inputs, point.tangents, point.constants, options)

    return _command(
        kind,
        f"Output and {what}.",
        f"Output and {what} of FUNC (one output with one element), like torch.autograd.functional.{kind}.\n\n"
        "-v gives one tangent per input, as jvp's.",
        f"""  jvpcli {kind} '(x**3).sum()' '[1.0, 2.0]' -v '[1, 0]'
  jvpcli {kind} @samples/mlp.py samples/x.npy samples/W.npy samples/b.npy \\
      -v rand -v rand -v rand
""",
        spec.POINT,
        compute,
    )


hvp = _product_command("hvp", "Hessian-vector product H v")
vhp = _product_command("vhp", "vector-Hessian product v^T H")
