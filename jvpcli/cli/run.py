"""What a command asked for and does, below click: FUNC and its SOURCEs read into a Program
and a Point, and the jvp command itself (click's and the fast path's alike)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from jvpcli.api import Options, Point, jvp_at, prepare
from jvpcli.arrays.sources import LIKE_GENERATORS, SourceReader
from jvpcli.cli.binding import Bound, bind_sources, load, split_named
from jvpcli.cli.output import emit
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
    memory: int | None = None
    quiet: bool = False
    #: the most bytes one array read or made in memory may take (None: --memory, else a share of memory)
    max_bytes: int | None = None
    engine: str | None = None
    scheduler: str | None = None
    dialect: str | None = None

    def options(self, **flags: Any) -> Options:
        engine = self.engine or ("dask" if self.scheduler else "local")
        scheduler = self.scheduler if engine == "dask" else None
        return Options(
            dtype=self.dtype,
            threads=self.threads,
            cache=self.cache,
            memory=self.memory,
            engine=engine,
            scheduler=scheduler,
            dialect=self.dialect,
            **flags,
        )

    def load(self, lazy: bool = False, tangents: bool = True, batch: bool = False) -> tuple[Program, Point]:
        """FUNC and its arrays; with ``lazy``, files and generators stay ``Rows`` (read when
        needed); ``tangents=False`` for commands that take no ``-v``; ``batch``: each tangent
        has a leading batch axis."""
        program = parse(read_func(self.func))
        reader = self.reader()
        bound = load(program, self.sources, self.named, self.tangents, self.constants, reader)
        if not lazy:
            bound = Bound(*({n: reader.whole(r) for n, r in g.items()} if g is not None else None for g in bound))  # type: ignore[arg-type]
        return program, prepare(bound.inputs, bound.tangents if tangents else {}, bound.constants, self.dtype, batch)

    def reader(self) -> SourceReader:
        return SourceReader(sys.stdin.buffer if sys.stdin else None, self.seed, self.max_bytes or self.memory)

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


def bundle(params: dict[str, Any]) -> tuple[Request, dict[str, Any]]:
    """A command's parameters, as click names them: the ``Request`` and the command's own."""
    rest = dict(params)
    read = {name: rest.pop(name) for name in ("func", "sources", "named", "constants", "dtype", "seed")}
    read["tangents"] = rest.pop("tangents", ())  # jacobian and hessian take no -v
    how = {
        name: rest.pop(name) for name in ("threads", "memory", "quiet", "max_bytes", "engine", "scheduler", "dialect")
    }
    return Request(**read, **how, cache=not rest.pop("no_cache")), rest


def jvp(
    request: Request,
    strict: bool,
    create_graph: bool,
    fmt: str | None,
    only: str | None,
    out_path: str | None,
    check_too: bool,
    batch: bool = False,
) -> None:
    """``jvpcli jvp``: the output and jvp at the point, written in the chosen format; with
    ``batch``, B tangents at once."""
    from jvpcli.cli.progress import bar_for

    fmt = output_format(fmt, out_path)
    if batch:
        from jvpcli.family import jvp_batch_at

        program, point = request.load(batch=True)
        result = jvp_batch_at(program, point, request.options(create_graph=create_graph, strict=strict))
        emit(result, fmt, only, out_path)
        return
    program, point = request.load(lazy=not check_too)
    bar = bar_for(sys.stderr, request.quiet)
    with _spool(fmt, out_path) as spool:
        try:
            options = request.options(
                create_graph=create_graph, strict=strict, spool=spool, progress=bar, only=None if check_too else only
            )
            result = jvp_at(program, point, options)
        finally:
            if bar is not None:
                bar.close()
        emit(result, fmt, only, out_path, spool)
    if check_too:
        from jvpcli.cli.study import verdict

        verdict(program, point, request, result, sys.stderr)


def _spool(fmt: str, out_path: str | None) -> Any:
    """Where streamed results are written: a zarr group for ``-o PATH.zarr``, else ``.npy``
    files beside ``-o``'s destination (else in the temporary folder)."""
    if fmt == "zarr" and out_path is not None:
        from jvpcli.arrays.zarrout import ZarrSpool

        return ZarrSpool(out_path)
    from jvpcli.arrays.npystream import Spool

    return Spool(os.path.dirname(os.path.abspath(out_path)) if out_path else None)


def output_format(fmt: str | None, out_path: str | None) -> str:
    """``--format``, else ``-o``'s extension, else a table; binary data never goes to a terminal."""
    from jvpcli.arrays.sinks import EXTENSIONS

    if out_path is None:
        chosen = fmt or "table"
        if chosen in ("npy", "npz") and sys.stdout.isatty():
            raise UsageError(f"refusing to write binary {chosen} data to a terminal: redirect stdout or use -o PATH")
        return chosen
    ext = os.path.splitext(out_path)[1].lower()
    if ext not in EXTENSIONS:
        raise UsageError(f"-o {out_path}: the extension must be one of {', '.join(EXTENSIONS)}")
    if fmt is not None and fmt != EXTENSIONS[ext]:
        raise UsageError(f"--format {fmt} does not match -o {out_path}")
    if EXTENSIONS[ext] == "zarr":
        from jvpcli.arrays.zarrout import zarr

        zarr()  # without zarr installed: the usage error before anything is read
    return EXTENSIONS[ext]
