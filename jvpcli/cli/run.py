"""What a command asked for, below click: read FUNC and its SOURCEs into a Program and a Point."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from jvpcli.api import Options, Point, prepare
from jvpcli.arrays.sources import SourceReader
from jvpcli.cli.binding import Bound, load
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
    memory: int | None = None
    quiet: bool = False
    #: the most bytes one array read or made in memory may take (None: --memory, else a share of memory)
    max_bytes: int | None = None

    def options(self, **flags: Any) -> Options:
        return Options(dtype=self.dtype, threads=self.threads, cache=self.cache, memory=self.memory, **flags)

    def load(self, lazy: bool = False) -> tuple[Program, Point]:
        """FUNC and its arrays; with ``lazy``, files and generators stay ``Rows`` (read when needed)."""
        program = parse(read_func(self.func))
        reader = SourceReader(sys.stdin.buffer if sys.stdin else None, self.seed, self.max_bytes or self.memory)
        bound = load(program, self.sources, self.named, self.tangents, self.constants, reader)
        if not lazy:
            bound = Bound(*({n: reader.whole(r) for n, r in g.items()} if g is not None else None for g in bound))  # type: ignore[arg-type]
        return program, prepare(bound.inputs, bound.tangents, bound.constants, self.dtype)
