"""Arguments several commands share, declared once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

DTYPES = ("float32", "float64", "complex64", "complex128")


class Size(click.ParamType):
    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from jvpcli.arrays.limits import parse_size

        try:
            return value if isinstance(value, int) else parse_size(str(value))
        except ValueError:
            self.fail(f"{str(value)[:40]!r} is not a size (bytes, or with K, M, G, T)", param, ctx)


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
        max_bytes: int | None,
        **rest: Any,
    ) -> None:
        from jvpcli.cli.run import Request

        request = Request(func, sources, named, tangents, constants, dtype, seed, threads, not no_cache, max_bytes)
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
            help="A tangent, by name or in input order; repeat for each input. "
            "It may be left out when FUNC has one input with one element (then 1).",
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
        click.option(
            "--max-bytes",
            type=Size(),
            default=None,
            metavar="SIZE",
            help="The most one array read or made in memory may take, like 512M or 2G "
            "(default: half the memory jvpcli may use; large .npy files are mapped and do not count).",
        ),
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
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command
