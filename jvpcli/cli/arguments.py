"""Arguments several commands share, declared once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

DTYPES = ("float32", "float64", "complex64", "complex128")


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
        memory: int | None,
        quiet: bool,
        max_bytes: int | None,
        **rest: Any,
    ) -> None:
        from jvpcli.cli.run import Request

        request = Request(
            func, sources, named, tangents, constants, dtype, seed, threads, not no_cache, memory, quiet, max_bytes
        )
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
            "--memory",
            type=Size(),
            default=None,
            metavar="SIZE",
            help="Memory budget (1GiB, 512MiB): larger row-wise work streams from disk (default: half the machine).",
        ),
        click.option("--quiet", is_flag=True, help="No progress bar on stderr."),
        click.option(
            "--max-bytes",
            type=Size(),
            default=None,
            metavar="SIZE",
            help="The most one array read or made in memory may take, like 512M or 2G "
            "(default: --memory, else half the memory jvpcli may use; .npy files are mapped or streamed).",
        ),
    ]
    for decorate in reversed(decorators):
        bundled = decorate(bundled)
    return bundled


class Size(click.ParamType):
    """A number of bytes written as 1GiB, 512MiB, 2G or 4096."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        import re

        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", str(value).lower())
        if m is None or float(m.group(1)) <= 0:
            self.fail(f"'{value}' is not a size like 1GiB, 512MiB or 4096", param, ctx)
        return int(float(m.group(1)) * (1 << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m.group(2)]))


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
