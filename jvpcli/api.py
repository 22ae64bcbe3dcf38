"""The Python API: ``jvp`` mirrors ``torch.autograd.functional.jvp`` on numpy arrays."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from jvpcli.arrays.rows import Rows
from jvpcli.engine.evaluate import evaluate
from jvpcli.errors import ComputeError, DialectNote, ParseError, ShapeError, UsageError
from jvpcli.kernels.kernel import Graph, Kernel
from jvpcli.lang.parse import Program, parse

ArrayLike = Any
Arrays = ArrayLike | Sequence[ArrayLike] | Mapping[str, ArrayLike]


class JvpResult:
    """``output`` and ``jvp`` as torch returns them: an array, or a tuple for a tuple output.

    Unpacks like torch's pair: ``out, jvp = jvpcli.jvp(...)``. A plain class, not a
    dataclass: importing dataclasses is ~2 ms of every call's start-up.
    """

    __slots__ = ("graph", "inputs", "jvp", "output")

    def __init__(
        self,
        output: np.ndarray | tuple[np.ndarray, ...],
        jvp: np.ndarray | tuple[np.ndarray, ...],
        inputs: tuple[str, ...],
        graph: Graph | None = None,
    ) -> None:
        self.output, self.jvp, self.inputs, self.graph = output, jvp, inputs, graph

    def __iter__(self):
        return iter((self.output, self.jvp))

    def __repr__(self) -> str:
        return f"JvpResult(output={self.output!r}, jvp={self.jvp!r}, inputs={self.inputs!r}, graph={self.graph!r})"


class Options(NamedTuple):
    """How to compute: torch's ``create_graph``/``strict``, a dtype cast, threads, the disk cache;
    for inputs given as ``Rows`` (read when needed): the memory budget in bytes (default half
    the machine's), where streamed results are written (an ``arrays.npystream.Spool``) and a
    progress callback (``engine.stream.Progress``); the engine."""

    create_graph: bool = False
    strict: bool = False
    dtype: Any = None
    threads: int | None = None
    cache: bool = False
    memory: int | None = None
    spool: Any = None
    progress: Any = None
    #: "local", or "dask": the blocks on the dask cluster at ``scheduler`` (a local one if None)
    engine: str = "local"
    scheduler: str | None = None
    #: how to read the spellings numpy and torch dispute: 'numpy', 'torch', or None (the text's hints)
    dialect: str | None = None
    #: 'output' or 'jvp': only that half is needed, and a streamed evaluation leaves the other
    #: unwritten (``None`` in the result); None: both
    only: str | None = None


DEFAULTS = Options()


def jvp(
    func: str | Program,
    inputs: Arrays,
    v: Arrays | None = None,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    create_graph: bool = False,
    strict: bool = False,
    dtype: Any = None,
    threads: int | None = None,
    cache: bool = False,
    dialect: str | None = None,
) -> JvpResult:
    """Output and Jacobian-vector product of FUNC at ``inputs`` along ``v``.

    ``inputs`` and ``v`` are one array, a sequence in input order, or a mapping by name.
    ``cache=True`` keeps the generated kernel on disk for later processes. ``dialect``
    ('numpy' or 'torch') decides the spellings the two libraries read differently
    (``x.transpose(0, 1)``, ``x.var()``); by default the text's own hints do.

    >>> out, t = jvp("lambda x, y: 2*x + 3*y", ([0.1, 0.2], [0.3, 0.4]), ([1.0, 1.0], [1.0, 1.0]))
    >>> t
    array([5., 5.])
    """
    program, names, xs, cs = bound_point(func, inputs, constants)
    ts = _bind(names, v, "tangent") if v is not None else None
    options = Options(create_graph, strict, dtype, threads, cache, dialect=check_dialect(dialect))
    return jvp_bound(program, xs, ts, cs, options)


def bound_point(
    func: str | Program, inputs: Arrays, constants: Mapping[str, ArrayLike] | None
) -> tuple[Program, list[str], dict[str, Any], dict[str, Any]]:
    """FUNC read, its input names in order, and its inputs and constants bound to them."""
    program = func if isinstance(func, Program) else parse(func)
    cs = dict(constants or {})
    bound = frozenset(inputs) if isinstance(inputs, Mapping) else frozenset()
    names = program.input_names(bound, frozenset(cs))
    return program, list(names), _bind(names, inputs, "input"), cs


def check_dialect(dialect: str | None) -> str | None:
    from jvpcli.lang.dialect import DIALECTS

    if dialect is not None and dialect not in DIALECTS:
        raise UsageError(f"dialect must be 'numpy' or 'torch', not {dialect!r}")
    return dialect


class Point(NamedTuple):
    """Inputs, tangents and constants as numeric arrays, by name, inputs in FUNC's order."""

    inputs: dict[str, np.ndarray]
    tangents: dict[str, np.ndarray]
    constants: dict[str, np.ndarray]


def prepare(
    inputs: Mapping[str, ArrayLike],
    v: Mapping[str, ArrayLike] | None,
    constants: Mapping[str, ArrayLike],
    dtype: Any = None,
    batch: bool = False,
) -> Point:
    """Arrays of numbers with torch's dtype rules; tangents checked against their inputs
    (``batch``: each with one leading axis more)."""
    xs = {n: as_input(a, n, dtype) for n, a in inputs.items()}
    cs = {n: as_input(a, n, dtype) for n, a in constants.items()}
    if v is None:
        ts = default_tangents(xs)
    else:
        ts = {n: _tangent(xs[n], as_input(t, n, dtype), n, batch) for n, t in v.items()}
    return Point(xs, ts, cs)


def jvp_bound(
    program: Program,
    inputs: Mapping[str, ArrayLike],
    v: Mapping[str, ArrayLike] | None,
    constants: Mapping[str, ArrayLike],
    options: Options = DEFAULTS,
) -> JvpResult:
    """``jvp`` once every input, tangent and constant is bound to its name (in input order)."""
    return jvp_at(program, prepare(inputs, v, constants, options.dtype), options)


def jvp_at(program: Program, point: Point, options: Options = DEFAULTS) -> JvpResult:
    kinds = tuple((n, bool(np.iscomplexobj(a))) for n, a in point.inputs.items())
    const_kinds = tuple((n, bool(np.iscomplexobj(a))) for n, a in point.constants.items())
    program = read_as(program, options.dialect)
    kernel = kernel_for("jvp", program, kinds, const_kinds, options.create_graph, options.cache)
    if options.strict:
        strict_of(program, point.inputs, point.constants).jvp(options.create_graph)
    xs, ts, cs = (list(group.values()) for group in (point.inputs, point.tangents, point.constants))
    n = len(kernel.results) // 2
    wanted = [options.only != "jvp"] * n + [options.only != "output"] * n
    results = run_named(kernel, program, point, [*xs, *ts, *cs], options, wanted)
    pick = tuple if kernel.is_tuple else (lambda items: items[0])
    graph = None
    if kernel.graph is not None:
        graph = Graph(kernel.graph[:n], kernel.graph[n:], kernel.extras)
    return JvpResult(pick(results[:n]), pick(results[n:]), kernel.inputs, graph)


#: arrays this large are read whole again to name the operation numpy refused
DIAGNOSED_BYTES = 64 << 20


def read_as(program: Program, dialect: str | None) -> Program:
    """``program`` with the dialect asked for (--dialect), which is part of its kernels' key."""
    return program if dialect is None or program.dialect == dialect else program._replace(dialect=dialect)


def run_named(
    kernel: Kernel,
    program: Program,
    point: Point,
    args: Sequence[Any],
    options: Options,
    wanted: Sequence[bool] | None = None,
) -> list:
    """``run``, with a failure numpy reports named as the FUNC operation it is (with a caret);
    each of the kernel's notes (a disputed spelling read without a hint) once on stderr."""
    for note in kernel.notes:
        warnings.warn(note, DialectNote, stacklevel=4)
    try:
        return run(kernel, args, options, wanted)
    except (ShapeError, ComputeError) as exc:
        small = sum(a.nbytes for a in args if isinstance(a, Rows)) <= DIAGNOSED_BYTES
        if not small or "stream" in str(exc):  # streamed work has its own messages
            raise
        from jvpcli.diagnose import failing_step

        arrays = [
            {n: a.whole() if isinstance(a, Rows) else a for n, a in g.items()} for g in (point.inputs, point.constants)
        ]
        message = failing_step(program, *arrays)
        if message is None:
            raise
        raise type(exc)(message) from None


def run(kernel: Kernel, args: Sequence[Any], options: Options = DEFAULTS, wanted: Sequence[bool] | None = None) -> list:
    """The kernel's results: in memory, or streamed by blocks of rows where an argument is
    ``Rows`` and the work is larger than the memory budget (``engine.stream``), or as tasks
    of a dask cluster (``engine.dask``). A streamed result not ``wanted`` is ``None``."""
    how = (options.threads, options.memory, options.spool, options.progress, wanted)
    if options.engine == "dask" or options.scheduler:
        from jvpcli.engine.dask import evaluate_dask

        return evaluate_dask(kernel, args, options.scheduler, *how)
    if any(isinstance(a, Rows) for a in args):
        bound = sum(a.nbytes for a in args) * (1 + 2 * len(kernel.results))  # >= stream.in_memory_bytes
        if options.memory is not None or bound > SMALL_WORK:
            from jvpcli.engine.stream import evaluate_rows

            return evaluate_rows(kernel, args, *how)
        args = [a.whole() if isinstance(a, Rows) else a for a in args]
    return evaluate(kernel, args, options.threads)


#: work this small runs in memory under any default budget: it need not load the streaming
#: machinery (engine.stream, threading), which is ~5 ms of a small call's start-up
SMALL_WORK = 64 << 20


Kinds = tuple[tuple[str, bool], ...]


def kernel_for(
    mode: str, program: Program, inputs: Kinds, constants: Kinds, create_graph: bool, cache: bool, *extra: Any
) -> Kernel:
    """The kernel from memory, then from the disk cache, else differentiated afresh (sympy).

    ``mode`` names the compiler (``jvpcli.kernels.compiler.COMPILERS``); ``extra`` are its
    further arguments, part of the key.
    """
    parts = (mode, program.text, inputs, constants, create_graph, *extra)
    if program.dialect is not None:  # --dialect: another reading of the same text, another kernel
        parts = (*parts, ("dialect", program.dialect))
    if parts in _MEMO:
        return _MEMO[parts]
    store = None
    if cache:
        from jvpcli.kernels.cache import KernelCache, cache_key, default_folder

        store, key = KernelCache(default_folder()), cache_key(parts)
        kernel = store.get(key)
    if store is None or kernel is None:
        from jvpcli.kernels.compiler import COMPILERS

        kernel = _deep(COMPILERS[mode], program, inputs, constants, create_graph, *extra)
        if store is not None:
            store.put(key, kernel)
    if len(_MEMO) > 256:
        _MEMO.clear()
    _MEMO[parts] = kernel
    return kernel


_MEMO: dict[tuple, Kernel] = {}
#: sympy recurses once per level of an expression; a long def nests as deep as it is long
SYMBOLIC_RECURSION = 20_000


def _deep(fn: Any, *args: Any) -> Any:
    """Run the symbolic stage with room for deep expressions, and a clear error beyond it."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, SYMBOLIC_RECURSION))
    try:
        return fn(*args)
    except RecursionError:
        raise ParseError("FUNC nests too deeply for the symbolic stage; split it into smaller steps") from None
    finally:
        sys.setrecursionlimit(limit)


def as_input(value: ArrayLike, name: str, dtype: Any = None) -> Any:
    """A numeric array (or ``Rows``); integers and booleans become float64, like torch's promotion."""
    a = value if isinstance(value, Rows) else np.asarray(value)
    if a.dtype.kind not in "biufc":
        raise UsageError(f"'{name}' has dtype {a.dtype}; jvpcli needs numbers")
    if dtype is not None:
        if a.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            raise UsageError(f"'{name}' is complex: casting it to {np.dtype(dtype).name} would drop its imaginary part")
        return a.astype(dtype, copy=False)
    return a.astype(np.float64) if a.dtype.kind in "biu" else a


def default_tangents(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """torch's rule: v may be omitted only for a single input with a single element."""
    if not inputs:
        raise UsageError("FUNC has no inputs: there is nothing to differentiate")
    if len(inputs) == 1:
        ((name, x),) = inputs.items()
        if x.size == 1:
            return {name: np.ones(x.shape, x.dtype)}
    shapes = ", ".join(f"{n} {x.shape}" for n, x in inputs.items())
    raise UsageError(f"v is required unless FUNC has one input with one element (inputs: {shapes}); give -v")


def _tangent(x: np.ndarray, t: np.ndarray, name: str, batch: bool = False) -> np.ndarray:
    if batch and t.shape[1:] != x.shape:
        raise ShapeError(
            f"--batch: tangent for input '{name}' has shape {t.shape}, but it must be (B, *{x.shape}), "
            f"'{name}' having shape {x.shape}"
        )
    if not batch and t.shape != x.shape:
        raise ShapeError(f"tangent for input '{name}' has shape {t.shape}, but '{name}' has shape {x.shape}")
    if np.iscomplexobj(t) and not np.iscomplexobj(x):
        raise ShapeError(f"tangent for input '{name}' is complex, but '{name}' is real")
    return t.astype(x.dtype, copy=False)


def strict_of(program: Program, inputs: Mapping[str, Any], constants: Mapping[str, Any]) -> Any:
    """torch's strict checks (``jvpcli.strict.Strict``) for FUNC with these inputs and constants,
    kept per FUNC and kinds: building torch's graph is a symbolic pass."""
    from jvpcli.strict import Strict

    kinds = tuple((n, bool(np.iscomplexobj(a))) for n, a in inputs.items())
    const_kinds = tuple((n, bool(np.iscomplexobj(a))) for n, a in constants.items())
    key = (program.text, program.dialect, kinds, const_kinds)
    if key not in _STRICT:
        if len(_STRICT) > 64:
            _STRICT.clear()
        _STRICT[key] = Strict(program, kinds, const_kinds)
    return _STRICT[key]


_STRICT: dict[tuple, Any] = {}


def _bind(names: Sequence[str], values: Arrays, what: str) -> dict[str, Any]:
    if isinstance(values, Mapping):
        unknown = set(values) - set(names)
        if unknown:
            raise UsageError(f"unknown {what} name '{sorted(unknown)[0]}'; the inputs are {', '.join(names)}")
        missing = [n for n in names if n not in values]
        if missing:
            raise UsageError(f"no {what} for '{missing[0]}'")
        return {n: values[n] for n in names}
    # a tuple is always one value per input (as in torch); a list is one array for one input
    seq = values if isinstance(values, tuple) or (len(names) != 1 and isinstance(values, list)) else (values,)
    if len(seq) != len(names):
        raise UsageError(f"FUNC has {len(names)} input(s) ({', '.join(names)}) but {len(seq)} {what}(s) were given")
    return dict(zip(names, seq))
