"""Arguments several commands share, declared once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

DTYPES = ("float32", "float64", "complex64", "complex128")
DIALECT = click.option(
    "--dialect",
    type=click.Choice(["numpy", "torch"]),
    default=None,
    help="Read spellings numpy and torch disagree on (x.transpose(0, 1), x.var()) as this library does "
    "(default: as the text's hints say).",
)


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
        dialect: str | None,
        **rest: Any,
    ) -> None:
        from jvpcli.cli.run import Request

        request = Request(func, sources, named, tangents, constants, dtype, seed, threads, not no_cache, dialect)
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
        DIALECT,
    ]
    for decorate in reversed(decorators):
        bundled = decorate(bundled)
    return bundled


def formula_arguments(command: Callable[..., None]) -> Callable[..., None]:
    """FUNC alone, for the commands that need no arrays (show, codegen)."""
    decorators = [
        click.argument("func"),
        click.option("--mode", type=click.Choice(["jvp"]), default="jvp", show_default=True, help="Which derivative."),
        click.option("--complex", "complex_inputs", multiple=True, metavar="NAME", help="Treat this input as complex."),
        click.option("-c", "--constant", "constants", multiple=True, metavar="NAME", help="A name that is a constant."),
        DIALECT,
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command
