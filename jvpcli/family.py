"""The rest of torch.autograd.functional: vjp, jacobian, hessian, hvp, vhp, and batches.

Each mirrors the torch function of its name on numpy arrays: results nest as torch's do
(one array for one input or output, a tuple over several), ``strict`` fails exactly where
torch's does, decided from torch's graph of FUNC (``jvpcli.strict``), not from numbers.
Kernels come from ``api.kernel_for`` by mode: ``vjp`` (outputs and cotangent products),
``hvp`` (outputs, gradients and the gradients' jvps: forward over reverse), ``jvp``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from jvpcli.api import (
    DEFAULTS,
    ArrayLike,
    Arrays,
    JvpResult,
    Options,
    Point,
    _bind,
    as_input,
    bound_point,
    check_dialect,
    kernel_for,
    prepare,
    read_as,
    strict_of,
)
from jvpcli.engine.evaluate import evaluate
from jvpcli.errors import ShapeError, UsageError
from jvpcli.kernels.kernel import Graph, label
from jvpcli.lang.parse import Program
from jvpcli.strict import Strict

Nested = Any  # an array, or a tuple of Nested
STRATEGIES = ("reverse-mode", "forward-mode")


class Outcome:
    """Named results nested as torch returns them; unpacks in order (``out, vjp = ...``).

    ``graph``, with ``create_graph``, holds each result's expression in FUNC's language,
    nested alike.
    """

    __slots__ = ("given", "graph", "inputs", "values")

    def __init__(
        self,
        values: dict[str, Nested],
        inputs: tuple[str, ...],
        graph: dict[str, Nested] | None = None,
        given: Sequence[np.ndarray] = (),
    ):
        #: the cotangents (vjp) or tangents (hvp, vhp) the products were taken with
        self.values, self.inputs, self.graph, self.given = values, inputs, graph, tuple(given)

    def __iter__(self):
        return iter(self.values.values())

    def __getattr__(self, name: str) -> Nested:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Outcome({self.values!r}, graph={self.graph!r})"


def _nest(items: Sequence[Any], is_tuple: bool) -> Nested:
    return tuple(items) if is_tuple else items[0]


def _kinds(arrays: Mapping[str, np.ndarray]) -> tuple[tuple[str, bool], ...]:
    return tuple((n, bool(np.iscomplexobj(a))) for n, a in arrays.items())


class _Call:
    """One command's kernel and arrays: what every member of the family starts from."""

    def __init__(
        self,
        mode: str,
        program: Program,
        inputs: Mapping[str, np.ndarray],
        constants: Mapping[str, np.ndarray],
        options: Options,
        batched: bool = False,
    ) -> None:
        """``batched``: the kernel takes extras with one leading axis more, B at once."""
        if not inputs:
            raise UsageError("FUNC has no inputs: there is nothing to differentiate")
        self.program, self.options, self.batched = read_as(program, options.dialect), options, batched
        self.inputs, self.constants = dict(inputs), dict(constants)
        extra = (True,) if batched else ()
        self.kernel = kernel_for(
            mode, self.program, _kinds(inputs), _kinds(constants), options.create_graph, options.cache, *extra
        )
        self.n_in = len(inputs)
        self.input_tuple = self.n_in != 1

    def run(self, extras: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The kernel's results; batched, the results computed from the extras lead with
        their batch axis, the others are computed once."""
        args = [*self.inputs.values(), *extras, *self.constants.values()]
        return evaluate(self.kernel, args, self.options.threads, self.n_in if self.batched else None)

    def strict(self) -> Strict:
        """torch's strict checks for this FUNC and these inputs."""
        return strict_of(self.program, self.inputs, self.constants)

    def graph(self, groups: dict[str, tuple[int, ...]], tuples: dict[str, bool]) -> dict[str, Nested] | None:
        if self.kernel.graph is None:
            return None
        texts = self.kernel.graph
        return {k: _nest([texts[i] for i in idx], tuples[k]) for k, idx in groups.items()}


def _single_element(output: np.ndarray, what: str) -> None:
    if output.size != 1:
        raise ShapeError(f"{what} needs FUNC to return a single element, but its output has shape {output.shape}")


def _like(value: ArrayLike, ref: np.ndarray, what: str, dtype: Any) -> np.ndarray:
    a = as_input(value, what, dtype)
    if a.shape != ref.shape:
        raise ShapeError(f"{what} has shape {a.shape}, but it must have shape {ref.shape}")
    return a.astype(np.result_type(a, ref) if np.iscomplexobj(a) else ref.dtype, copy=False)


# ---- vjp --------------------------------------------------------------------------------
def vjp_at(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    v: Sequence[ArrayLike] | Callable[[list[np.ndarray]], Sequence[ArrayLike]] | None,
    constants: Mapping[str, np.ndarray],
    options: Options = DEFAULTS,
    batch: bool = False,
) -> Outcome:
    """``v``: one cotangent per output, or a function of the outputs that gives them (a
    SOURCE shaped like its output), or None for a single one-element output."""
    call = _Call("vjp", program, inputs, constants, options, batched=batch)
    k = call.kernel
    n_out = len(k.results) - call.n_in
    if options.strict:
        call.strict().outputs()
    if v is None and (k.is_tuple or batch):
        raise UsageError("v is required unless FUNC returns a single value with a single element; give -v")
    if callable(v):
        v = v(_Call("output", program, inputs, constants, options._replace(create_graph=False)).run([]))
    if v is None:
        # a 0-d 1 broadcasts to an output of one element of any shape: no forward pass first
        dtype = np.result_type(*inputs.values(), *constants.values(), np.float32)
        results = call.run([np.ones((), dtype.char.lower() if dtype.kind == "c" else dtype)])
        if results[0].size != 1:
            shape = results[0].shape
            raise UsageError(f"v is required unless FUNC's output has a single element (it has shape {shape}); give -v")
        us = [np.ones_like(results[0])]
    else:
        if len(v) != n_out:
            raise UsageError(f"FUNC has {n_out} output(s) but {len(v)} cotangent(s) were given")
        us = [as_input(u, label("cotangent", i, k.is_tuple), options.dtype) for i, u in enumerate(v)]
        results = _batched(call, us) if batch else call.run(us)
    outputs, vjps = results[:n_out], results[n_out:]
    for i, (u, out) in enumerate(zip(us, outputs)):
        shape = u.shape[1:] if batch else u.shape
        if shape != out.shape:
            what = label("cotangent for output", i, k.is_tuple)
            raise ShapeError(f"{what} has shape {u.shape}, but the output has shape {out.shape}")
    if options.strict:
        call.strict().vjp(options.create_graph)
    values = {"output": _nest(outputs, k.is_tuple), "vjp": _nest(vjps, call.input_tuple)}
    groups = {"output": tuple(range(n_out)), "vjp": tuple(range(n_out, n_out + call.n_in))}
    graph = call.graph(groups, {"output": k.is_tuple, "vjp": call.input_tuple})
    return Outcome(values, tuple(inputs), graph, us)


def jvp_batch_at(program: Program, point: Point, options: Options = DEFAULTS) -> JvpResult:
    """``jvp`` of a batch of tangents (each with one leading axis of size B): the jvps gain
    that axis, the output is reported once, as ``torch.func.vmap`` over ``torch.func.jvp``."""
    call = _Call("jvp", program, point.inputs, point.constants, options, batched=True)
    if options.strict:
        call.strict().jvp(options.create_graph)
    results = _batched(call, list(point.tangents.values()))
    n = len(results) // 2
    pick = tuple if call.kernel.is_tuple else (lambda items: items[0])
    graph = None
    if call.kernel.graph is not None:
        graph = Graph(call.kernel.graph[:n], call.kernel.graph[n:], call.kernel.extras)
    return JvpResult(pick(results[:n]), pick(results[n:]), call.kernel.inputs, graph)


def _batched(call: _Call, extras: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The results along each slice of the extras' leading axis (B tangents or cotangents),
    in one evaluation of the batched kernel; the outputs, which do not depend on them, once."""
    sizes = {e.shape[0] if e.ndim else None for e in extras}
    if None in sizes or len(sizes) != 1:
        raise ShapeError("--batch: every tangent (cotangent) needs one leading batch axis of the same size")
    if not next(iter(sizes)):
        raise ShapeError("--batch: the batch is empty")
    return call.run(extras)


# ---- hvp / vhp -----------------------------------------------------------------------------
def product_at(
    kind: str,
    program: Program,
    inputs: Mapping[str, np.ndarray],
    v: Mapping[str, np.ndarray] | None,
    constants: Mapping[str, np.ndarray],
    options: Options = DEFAULTS,
) -> Outcome:
    """``hvp`` or ``vhp``: output and the Hessian's product with ``v`` (one per input).

    Both are the gradient's jvp along v (forward over reverse); for a function whose
    Hessian is symmetric (twice continuously differentiable) that is also v^T H.
    """
    call = _Call("hvp", program, inputs, constants, options)
    n = call.n_in
    ts = _tangents(inputs, v, options.dtype)
    if options.strict:
        getattr(call.strict(), kind)()
    results = call.run(ts)
    output = results[0]
    _single_element(output, kind)
    values = {"output": output, kind: _nest(results[1 + n :], call.input_tuple)}
    groups = {"output": (0,), kind: tuple(range(1 + n, 1 + 2 * n))}
    return Outcome(values, tuple(inputs), call.graph(groups, {"output": False, kind: call.input_tuple}), ts)


def _tangents(inputs: Mapping[str, np.ndarray], v: Mapping[str, np.ndarray] | None, dtype: Any) -> list[np.ndarray]:
    if v is None:
        x = next(iter(inputs.values())) if len(inputs) == 1 else None
        if x is None or x.size != 1:
            shapes = ", ".join(f"{n} {a.shape}" for n, a in inputs.items())
            raise UsageError(f"v is required unless FUNC has one input with one element (inputs: {shapes}); give -v")
        return [np.ones_like(x)]
    return [_like(v[n], x, f"tangent for input '{n}'", dtype) for n, x in inputs.items()]


# ---- jacobian / hessian ----------------------------------------------------------------------
def _basis(x: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Directions ``start..stop`` of the standard basis of ``x``'s shape, stacked."""
    out = np.zeros((stop - start, x.size), x.dtype)
    out[np.arange(stop - start), np.arange(start, stop)] = 1
    return out.reshape((stop - start, *x.shape))


#: basis directions evaluated at once, unless ``chunk_size`` says: as many as keep each
#: batched array under this many elements (32 MiB of float64), judged by the largest argument
BATCH_ELEMENTS = 1 << 22


def _chunks(size: int, chunk: int | None, arrays: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    step = chunk or BATCH_ELEMENTS // max(1, *(a.size for a in arrays))
    step = max(1, min(step, size))
    return [(lo, min(lo + step, size)) for lo in range(0, size, step)]


def _sweep(call: _Call, refs: Sequence[np.ndarray], which: Sequence[int], chunk: int | None) -> list[list[np.ndarray]]:
    """For each extra ``e`` (shaped like ``refs[e]``), the results ``which`` along each
    basis direction of it, the others zero: ``[e][w]`` of shape ``(size_e, *result)``.
    ``call`` is batched: a chunk of directions is one evaluation."""
    out = []
    arrays = [*call.inputs.values(), *call.constants.values(), *refs]
    for e, ref in enumerate(refs):
        blocks: list[list[np.ndarray]] = [[] for _ in which]
        for lo, hi in _chunks(ref.size, chunk, arrays):
            extras = [
                _basis(ref, lo, hi) if f == e else np.broadcast_to(np.zeros_like(r), (hi - lo, *r.shape))
                for f, r in enumerate(refs)
            ]
            results = call.run(extras)
            for w, r in enumerate(which):
                blocks[w].append(results[r])
        out.append([np.concatenate(bl) if bl else np.zeros((0,)) for bl in blocks])
    return out


def jacobian_at(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    constants: Mapping[str, np.ndarray],
    options: Options = DEFAULTS,
    strategy: str = "reverse-mode",
    chunk_size: int | None = None,
) -> Outcome:
    """``J[i][j]`` of shape ``output_i.shape + input_j.shape``; where FUNC's output depends
    on an input through elementwise operations alone and has its shape, only the diagonal
    is computed (one jvp along ones)."""
    if strategy not in STRATEGIES:
        raise UsageError(f"strategy must be one of {', '.join(STRATEGIES)}")
    if chunk_size is not None and chunk_size < 1:
        raise UsageError("chunk_size must be at least 1")
    xs, plain = list(inputs.values()), options._replace(create_graph=False)  # create_graph: only strict reads it
    fwd = _Call("jvp", program, inputs, constants, plain)
    n_in, n_out = fwd.n_in, len(fwd.kernel.results) // 2
    if options.strict:
        fwd.strict().outputs()
    along: dict[int, list[np.ndarray]] = {}

    def ones_in(j: int) -> list[np.ndarray]:
        """The results along ones in input ``j`` (the others zero), once per input."""
        if j not in along:
            along[j] = fwd.run([np.ones_like(z) if f == j else np.zeros_like(z) for f, z in enumerate(xs)])
        return along[j]

    outputs = ones_in(0)[:n_out]  # they do not depend on the tangents: this run serves a diagonal too
    if options.strict:
        fwd.strict().jacobian([out.size for out in outputs], options.create_graph)
    blocks: list[list[np.ndarray | None]] = [[None] * n_in for _ in outputs]
    for i, out in enumerate(outputs):
        for j, x in enumerate(xs):
            if out.shape == x.shape and n_in + j in fwd.kernel.elementwise[n_out + i]:
                diag = ones_in(j)[n_out + i]
                full = np.zeros((out.size, x.size), np.result_type(diag))
                full[np.arange(x.size), np.arange(x.size)] = diag.reshape(-1)
                blocks[i][j] = full.reshape(out.shape + x.shape)
    missing = [(i, j) for i in range(n_out) for j in range(n_in) if blocks[i][j] is None]
    if missing and strategy == "forward-mode":
        batched = _Call("jvp", program, inputs, constants, plain, batched=True)
        sweep = _sweep(batched, xs, [n_out + i for i in range(n_out)], chunk_size)
        for i, j in missing:
            stacked = sweep[j][i]  # (x_j.size, *out_i.shape)
            blocks[i][j] = np.moveaxis(stacked.reshape(xs[j].size, -1), 0, -1).reshape(outputs[i].shape + xs[j].shape)
    elif missing:
        rev = _Call("vjp", program, inputs, constants, plain, batched=True)
        sweep = _sweep(rev, outputs, [n_out + j for j in range(n_in)], chunk_size)
        for i, j in missing:
            blocks[i][j] = sweep[i][j].reshape(outputs[i].shape + xs[j].shape)
    nested = _nest([_nest(row, fwd.input_tuple) for row in blocks], fwd.kernel.is_tuple)
    return Outcome({"jacobian": nested}, tuple(inputs))


def hessian_at(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    constants: Mapping[str, np.ndarray],
    options: Options = DEFAULTS,
    strategy: str = "reverse-mode",
) -> Outcome:
    """``H[i][j]`` of shape ``input_i.shape + input_j.shape``: Hessian-vector products
    along each basis direction (the Hessian of a real function is symmetric)."""
    if strategy not in STRATEGIES:
        raise UsageError(f"outer_jacobian_strategy must be one of {', '.join(STRATEGIES)}")
    call = _Call("hvp", program, inputs, constants, options._replace(create_graph=False), batched=True)
    xs, n = list(inputs.values()), call.n_in
    if options.strict:
        call.strict().hessian()
    output = call.run([np.zeros((1, *x.shape), x.dtype) for x in xs])[0]
    _single_element(output, "hessian")
    sweep = _sweep(call, xs, [1 + n + i for i in range(n)], None)
    # the product along direction d of input j, for input i: H[i][j][:, d]
    blocks = [
        [np.moveaxis(sweep[j][i].reshape(xs[j].size, -1), 0, -1).reshape(xs[i].shape + xs[j].shape) for j in range(n)]
        for i in range(n)
    ]
    return Outcome({"hessian": _nest([_nest(row, n != 1) for row in blocks], n != 1)}, tuple(inputs))


# ---- the Python API ----------------------------------------------------------------------------
#: ``how``, the keyword arguments every function below takes beside its own, are ``Options``'
#: fields: create_graph, strict, dtype, threads, cache, dialect (an unknown one is a TypeError)


def _point(func: str | Program, inputs: Arrays, constants: Mapping[str, ArrayLike] | None, how: dict[str, Any]):
    options = Options(**how)
    check_dialect(options.dialect)
    program, names, xs, cs = bound_point(func, inputs, constants)
    return program, names, prepare(xs, {}, cs, options.dtype), options


def vjp(
    func: str | Program,
    inputs: Arrays,
    v: ArrayLike | Sequence[ArrayLike] | None = None,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    **how: Any,
) -> Outcome:
    """``(output, vjp)`` like ``torch.autograd.functional.vjp``: ``v`` has one cotangent per
    output (a tuple for a tuple output), and may be omitted for one one-element output.

    >>> out, g = vjp("lambda x, y: 2*x + 3*y", ([0.1, 0.2], [0.3, 0.4]), [1.0, 1.0])
    >>> g
    (array([2., 2.]), array([3., 3.]))
    """
    program, _, point, options = _point(func, inputs, constants, how)
    us = None if v is None else (list(v) if isinstance(v, tuple) else [v])
    return vjp_at(program, point.inputs, us, point.constants, options)


def jacobian(
    func: str | Program,
    inputs: Arrays,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
    chunk_size: int | None = None,
    **how: Any,
) -> Nested:
    """The Jacobian nested as ``torch.autograd.functional.jacobian`` nests it.
    ``vectorize`` is accepted for torch's sake: every strategy evaluates whole kernels;
    ``create_graph`` changes no number, only what ``strict`` checks, as in torch."""
    program, _, point, options = _point(func, inputs, constants, how)
    return jacobian_at(program, point.inputs, point.constants, options, strategy, chunk_size).jacobian


def hessian(
    func: str | Program,
    inputs: Arrays,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
    **how: Any,
) -> Nested:
    """The Hessian nested as ``torch.autograd.functional.hessian`` nests it."""
    program, _, point, options = _point(func, inputs, constants, how)
    return hessian_at(program, point.inputs, point.constants, options, outer_jacobian_strategy).hessian


def _product(kind: str) -> Callable[..., Outcome]:
    def product(
        func: str | Program,
        inputs: Arrays,
        v: Arrays | None = None,
        *,
        constants: Mapping[str, ArrayLike] | None = None,
        **how: Any,
    ) -> Outcome:
        program, names, point, options = _point(func, inputs, constants, how)
        ts = None if v is None else _bind(names, v, "tangent")
        return product_at(kind, program, point.inputs, ts, point.constants, options)

    product.__name__ = product.__qualname__ = kind
    product.__doc__ = f"``(output, {kind})`` like ``torch.autograd.functional.{kind}``."
    return product


hvp = _product("hvp")
vhp = _product("vhp")
