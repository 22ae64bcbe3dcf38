"""The jvp command's work, below click: read FUNC and SOURCEs, call the API."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jvpcli.api import JvpResult, Options, jvp_bound
from jvpcli.arrays.sources import SourceReader
from jvpcli.cli.binding import load
from jvpcli.errors import SourceError
from jvpcli.lang.parse import parse


def read_func(func: str) -> str:
    """FUNC text, or the contents of the file named by ``@PATH``."""
    if not func.startswith("@"):
        return func
    try:
        with open(func[1:], encoding="utf-8") as fp:
            return fp.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read FUNC from '{func[1:]}': {exc}") from None


def run_jvp(
    func: str,
    sources: Sequence[str],
    named: Sequence[str],
    tangents: Sequence[str],
    constants: Sequence[str],
    options: Options,
    seed: int,
) -> JvpResult:
    program = parse(read_func(func))
    reader = SourceReader(stdin=sys.stdin.buffer if sys.stdin else None, seed=seed)
    bound = load(program, sources, named, tangents, constants, reader)
    return jvp_bound(program, bound.inputs, bound.tangents, bound.constants, options)
