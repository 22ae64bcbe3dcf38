"""What a command asked for, below click: read FUNC and its SOURCEs into a Program and a Point."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from jvpcli.api import Options, Point, prepare
from jvpcli.arrays.sources import LIKE_GENERATORS, SourceReader
from jvpcli.cli.binding import bind_sources, load, split_named
from jvpcli.errors import SourceError, UsageError
from jvpcli.lang.parse import Program, parse


def read_func(func: str) -> str:
    """FUNC text, or the contents of the file named by ``@PATH``."""
    if not func.startswith("@"):
        return func
    try:
        with open(func[1:], encoding="utf-8") as fp:
            return fp.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read FUNC from '{func[1:]}': {exc}") from None


Cotangents = list[np.ndarray] | Callable[[list[np.ndarray]], list[np.ndarray]] | None


class Request(NamedTuple):
    """FUNC, its SOURCEs and how to read them: what ``jvp`` and ``check`` share."""

    func: str
    sources: Sequence[str]
    named: Sequence[str]
    tangents: Sequence[str]
    constants: Sequence[str]
    dtype: str | None
    seed: int
    threads: int | None
    cache: bool

    def options(self, **flags: bool) -> Options:
        return Options(dtype=self.dtype, threads=self.threads, cache=self.cache, **flags)

    def load(self, tangents: bool = True, batch: bool = False) -> tuple[Program, Point]:
        """FUNC and its arrays; ``tangents=False`` for commands that take no ``-v``;
        ``batch``: each tangent has a leading batch axis."""
        if not tangents and self.tangents:
            raise UsageError("this command takes no -v")
        program = parse(read_func(self.func))
        bound = load(program, self.sources, self.named, self.tangents, self.constants, self.reader())
        return program, prepare(bound.inputs, bound.tangents if tangents else {}, bound.constants, self.dtype, batch)

    def reader(self) -> SourceReader:
        return SourceReader(stdin=sys.stdin.buffer if sys.stdin else None, seed=self.seed)

    def load_cotangents(self) -> tuple[Program, Point, Cotangents]:
        """FUNC, its inputs and constants, and the ``-v`` SOURCEs as cotangents: one per output,
        in order; ``ones``, ``rand``, ... take their output's shape, so they are read once the
        outputs are known (a function of them)."""
        program = parse(read_func(self.func))
        reader = self.reader()
        names, _, consts = bind_sources(program, self.sources, self.named, (), self.constants)
        xs = {n: reader.read(s) for n, s in names.items()}
        for text in self.tangents:
            if split_named(text)[0] is not None:
                raise UsageError(f"-v takes one SOURCE per output, in output order, not '{text}'")
        direct = [None if t in LIKE_GENERATORS else reader.read(t) for t in self.tangents]
        cs = {n: reader.read(s) for n, s in consts.items()}
        point = prepare(xs, {}, cs, self.dtype)
        if not self.tangents:
            return program, point, None
        if all(d is not None for d in direct):
            return program, point, [d for d in direct if d is not None]

        def later(outputs: list[np.ndarray]) -> list[np.ndarray]:
            return [
                d if d is not None else reader.read(t, like=outputs[i] if i < len(outputs) else None)
                for i, (d, t) in enumerate(zip(direct, self.tangents))
            ]

        return program, point, later
