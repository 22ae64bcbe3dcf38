"""Arguments several commands share, declared once (as data in ``spec``) and built into click here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import click

from jvpcli.cli import spec

Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def options(opts: Sequence[spec.Opt]) -> Decorator:
    """click options from their declarations in ``spec``, in order."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for opt in reversed(opts):
            command = click.option(*opt.decls, opt.dest, **_settings(opt))(command)
        return command

    return decorate


def _settings(opt: spec.Opt) -> dict[str, Any]:
    if opt.kind == "flag":
        return {"is_flag": True, "help": opt.help}
    settings: dict[str, Any] = {"help": opt.help, "metavar": opt.metavar, "type": _type(opt)}
    if opt.kind == "many":
        settings["multiple"] = True
    else:
        settings["default"] = opt.default
    if opt.show_default is not None:
        settings["show_default"] = opt.show_default
    if opt.envvar is not None:
        settings["envvar"] = opt.envvar
    return settings


def _type(opt: spec.Opt) -> Any:
    if opt.type == "choice":
        return click.Choice(opt.choices)
    types = {
        "text": None,
        "int": int,
        "count": click.IntRange(min=1),
        # an output: a zarr group is a folder, so an existing one may be written over
        "out": click.Path(),
    }
    return Size() if opt.type == "size" else types[opt.type]


def point_arguments(command: Callable[..., None], point: Sequence[spec.Opt] = spec.POINT) -> Callable[..., None]:
    """FUNC, SOURCEs and the options that bind and read them (``point``: which, as a command
    takes -v for tangents, cotangents or not at all), bundled as one ``Request``."""

    @functools.wraps(command)
    def bundled(**params: Any) -> None:
        from jvpcli.cli.run import bundle

        request, rest = bundle(params)
        command(request, **rest)

    return click.argument("func")(click.argument("sources", nargs=-1)(options(point)(bundled)))


class Size(click.ParamType):
    """A number of bytes written as 1GiB, 512MiB, 2G or 4096 (read by ``spec.size``)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        size = spec.size(str(value))
        if size is None:
            self.fail(f"'{value}' is not a size like 1GiB, 512MiB or 4096", param, ctx)
        return size


def formula_arguments(command: Callable[..., None]) -> Callable[..., None]:
    """FUNC alone, for the commands that need no arrays (show, codegen)."""
    decorators: list[Any] = [
        click.argument("func"),
        click.option(
            "--mode",
            type=click.Choice(["jvp", "vjp", "hvp", "vhp"]),
            default="jvp",
            show_default=True,
            help="Which derivative (vjp: cotangents u/u_i; hvp, vhp: one-element FUNC).",
        ),
        click.option("--complex", "complex_inputs", multiple=True, metavar="NAME", help="Treat this input as complex."),
        click.option("-c", "--constant", "constants", multiple=True, metavar="NAME", help="A name that is a constant."),
        options([spec.DIALECT]),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command
