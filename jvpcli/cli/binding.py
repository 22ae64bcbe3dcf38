"""Command-line SOURCEs -> named arrays, in the contract's order (inputs, tangents, constants)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from jvpcli.arrays.rows import Rows
from jvpcli.arrays.sources import SourceReader
from jvpcli.errors import UsageError
from jvpcli.lang.parse import Program

_NAMED = re.compile(r"^([A-Za-z_]\w*)=(.*)$", re.S)


class Bound(NamedTuple):
    """SOURCEs as rows, read when their rows are needed."""

    inputs: dict[str, Rows]
    tangents: dict[str, Rows] | None
    constants: dict[str, Rows]


def split_named(item: str) -> tuple[str | None, str]:
    m = _NAMED.match(item)
    return (m.group(1), m.group(2)) if m else (None, item)


def _collect(items: Sequence[str], option: str | None = None) -> tuple[dict[str, str], list[str]]:
    """``NAME=SOURCE`` items by name, and plain SOURCEs in order (refused when ``option`` is set)."""
    by_name: dict[str, str] = {}
    plain: list[str] = []
    for item in items:
        name, source = split_named(item)
        if name is None:
            if option:
                raise UsageError(f"{option} takes NAME=SOURCE, not '{item}'")
            plain.append(source)
        elif name in by_name:
            raise UsageError(f"'{name}' is bound twice")
        else:
            by_name[name] = source
    return by_name, plain


def bind_sources(
    program: Program, positional: Sequence[str], named: Sequence[str], tangents: Sequence[str], constants: Sequence[str]
) -> tuple[dict, dict | None, dict]:
    """Which SOURCE text feeds each input, tangent and constant."""
    consts, _ = _collect(constants, "-c")
    by_name, plain = _collect([*(f"{k}={v}" for k, v in _collect(named, "-i")[0].items()), *positional])
    names = program.input_names(frozenset(by_name), frozenset(consts))
    inputs = _fill(names, plain, by_name, program.params is None, "")
    if not tangents:
        return inputs, None, consts
    t_named, t_plain = _collect(tangents)
    return inputs, _fill(names, t_plain, t_named, False, "-v "), consts


def _fill(
    names: Sequence[str], plain: Sequence[str], by_name: dict[str, str], bare: bool, option: str
) -> dict[str, str]:
    what = "tangent" if option else "input"
    unknown = [n for n in by_name if n not in names]
    if unknown:
        raise UsageError(f"unknown {what} '{unknown[0]}'; FUNC's inputs are: {', '.join(names) or 'none'}")
    if bare and plain and len(names) > 1:
        raise UsageError(f"FUNC has several inputs ({', '.join(names)}): bind each by name, like {names[0]}=SOURCE")
    free = [n for n in names if n not in by_name]
    if len(plain) > len(free):
        raise UsageError(f"too many {what} SOURCEs: FUNC's inputs are {', '.join(names) or 'none'}")
    bound = {**by_name, **dict(zip(free, plain))}
    missing = [n for n in names if n not in bound]
    if missing:
        raise UsageError(f"no SOURCE for {what} '{missing[0]}': give {option}{missing[0]}=SOURCE")
    return {n: bound[n] for n in names}


def load(
    program: Program,
    positional: Sequence[str],
    named: Sequence[str],
    tangents: Sequence[str],
    constants: Sequence[str],
    reader: SourceReader,
) -> Bound:
    inputs, tsrc, consts = bind_sources(program, positional, named, tangents, constants)
    xs = {n: reader.open(s) for n, s in inputs.items()}
    ts = {n: reader.open(s, like=_like(xs[n])) for n, s in tsrc.items()} if tsrc is not None else None
    cs = {n: reader.open(s) for n, s in consts.items()}
    reader.finish()
    return Bound(xs, ts, cs)


def _like(x: Rows) -> Rows:
    return x.astype(np.float64) if x.dtype.kind in "biu" else x
