"""What a command asked for, below click: read FUNC and its SOURCEs into a Program and a Point."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NamedTuple

from jvpcli.api import Options, Point, prepare
from jvpcli.arrays.sources import SourceReader
from jvpcli.cli.binding import load
from jvpcli.errors import SourceError
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
    dialect: str | None = None

    def options(self, **flags: bool) -> Options:
        return Options(dtype=self.dtype, threads=self.threads, cache=self.cache, dialect=self.dialect, **flags)

    def load(self) -> tuple[Program, Point]:
        program = parse(read_func(self.func))
        reader = SourceReader(stdin=sys.stdin.buffer if sys.stdin else None, seed=self.seed)
        bound = load(program, self.sources, self.named, self.tangents, self.constants, reader)
        return program, prepare(bound.inputs, bound.tangents, bound.constants, self.dtype)
