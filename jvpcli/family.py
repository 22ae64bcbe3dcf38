"""The rest of torch.autograd.functional: vjp, jacobian, hessian, hvp, vhp, and batches.

Each mirrors the torch function of its name on numpy arrays: results nest as torch's do
(one array for one input or output, a tuple over several), ``strict`` fails exactly where
torch's does, decided from the symbolic graph (``Kernel.depends``), not from numbers.
Kernels come from ``api.kernel_for`` by mode: ``vjp`` (outputs and cotangent products),
``hvp`` (outputs, gradients and the gradients' jvps: forward over reverse), ``jvp``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from jvpcli.api import DEFAULTS, ArrayLike, Arrays, JvpResult, Options, Point, _bind, as_input, check_strict, kernel_for
from jvpcli.engine.evaluate import evaluate
from jvpcli.errors import ShapeError, StrictError, UsageError
from jvpcli.kernels.kernel import Graph, label
from jvpcli.lang.parse import Program, parse

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
        self.program, self.options, self.batched = program, options, batched
        self.inputs, self.constants = dict(inputs), dict(constants)
        extra = (True,) if batched else ()
        self.kernel = kernel_for(
            mode, program, _kinds(inputs), _kinds(constants), options.create_graph, options.cache, *extra
        )
        self.n_in = len(inputs)
        self.input_tuple = self.n_in != 1

    def run(self, extras: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The kernel's results; batched, the results computed from the extras lead with
        their batch axis, the others are computed once."""
        args = [*self.inputs.values(), *extras, *self.constants.values()]
        return evaluate(self.kernel, args, self.options.threads, self.n_in if self.batched else None)

    def depends(self, result: int) -> set[int]:
        return set(self.kernel.depends[result])

    def on_inputs(self, result: int) -> bool:
        return bool(self.depends(result) & set(range(self.n_in)))

    def on_extra(self, result: int, extra: int) -> bool:
        return self.n_in + extra in self.depends(result)

    def on_extras(self, result: int) -> bool:
        return any(self.on_extra(result, k) for k in range(len(self.kernel.extras)))

    def name(self, j: int) -> str:
        return list(self.inputs)[j]

    def graph(self, groups: dict[str, tuple[int, ...]], tuples: dict[str, bool]) -> dict[str, Nested] | None:
        if self.kernel.graph is None:
            return None
        texts = self.kernel.graph
        return {k: _nest([texts[i] for i in idx], tuples[k]) for k, idx in groups.items()}

    def check_outputs(self, n_outputs: int) -> None:
        """torch's strict: every output is computed from some input."""
        for i in range(n_outputs):
            if not self.on_inputs(i):
                what = label("output", i, self.kernel.is_tuple)
                raise StrictError(f"strict: {what} does not depend on any input")


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
        call.check_outputs(n_out)
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
        for j in range(call.n_in):
            if not call.on_extras(n_out + j):
                raise StrictError(f"strict: every output is independent of input '{call.name(j)}'")
    values = {"output": _nest(outputs, k.is_tuple), "vjp": _nest(vjps, call.input_tuple)}
    groups = {"output": tuple(range(n_out)), "vjp": tuple(range(n_out, n_out + call.n_in))}
    graph = call.graph(groups, {"output": k.is_tuple, "vjp": call.input_tuple})
    return Outcome(values, tuple(inputs), graph, us)


def jvp_batch_at(program: Program, point: Point, options: Options = DEFAULTS) -> JvpResult:
    """``jvp`` of a batch of tangents (each with one leading axis of size B): the jvps gain
    that axis, the output is reported once, as ``torch.func.vmap`` over ``torch.func.jvp``."""
    call = _Call("jvp", program, point.inputs, point.constants, options, batched=True)
    if options.strict:
        check_strict(call.kernel)
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
        _strict_gradients(call)
    results = call.run(ts)
    output = results[0]
    _single_element(output, kind)
    if options.strict:
        for j in range(n):
            if not call.on_extras(1 + n + j):
                raise StrictError(f"strict: the {kind} is independent of input '{call.name(j)}'")
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


def _strict_gradients(call: _Call) -> None:
    """torch's strict checks of a Hessian's gradient: the output depends on every input,
    and each input's gradient on some input (a function linear in it fails)."""
    call.check_outputs(1)
    n = call.n_in
    for j in range(n):
        if not call.on_inputs(0) or j not in call.depends(0):
            raise StrictError(f"strict: the output is independent of input '{call.name(j)}'")
    for j in range(n):
        if not call.on_inputs(1 + j):
            raise StrictError(
                f"strict: the gradient with respect to input '{call.name(j)}' is independent of the inputs"
            )


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
    xs, plain = list(inputs.values()), options._replace(create_graph=False)
    fwd = _Call("jvp", program, inputs, constants, plain)
    n_in, n_out = fwd.n_in, len(fwd.kernel.results) // 2
    if options.strict:
        fwd.check_outputs(n_out)
    outputs = fwd.run([np.zeros_like(x) for x in xs])[:n_out]
    rev = None
    if options.strict:
        rev = _Call("vjp", program, inputs, constants, plain, batched=True)
        for i, out in enumerate(outputs):
            for j in range(n_in):
                if out.size and not rev.on_extra(n_out + j, i):
                    what = label("output", i, rev.kernel.is_tuple)
                    raise StrictError(f"strict: {what} is independent of input '{rev.name(j)}'")
    blocks: list[list[np.ndarray | None]] = [[None] * n_in for _ in outputs]
    for i, out in enumerate(outputs):
        for j, x in enumerate(xs):
            if out.shape == x.shape and n_in + j in fwd.kernel.elementwise[n_out + i]:
                ones = [np.ones_like(x) if f == j else np.zeros_like(z) for f, z in enumerate(xs)]
                diag = fwd.run(ones)[n_out + i]
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
        rev = rev or _Call("vjp", program, inputs, constants, plain, batched=True)
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
        _strict_gradients(call)
        for i in range(n):
            for j in range(n):
                if j not in call.depends(1 + i):
                    raise StrictError(
                        f"strict: the gradient with respect to input '{call.name(i)}' "
                        f"is independent of input '{call.name(j)}'"
                    )
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
def _point(func: str | Program, inputs: Arrays, constants: Mapping[str, ArrayLike] | None, dtype: Any):
    program = func if isinstance(func, Program) else parse(func)
    constants = dict(constants or {})
    bound = frozenset(inputs) if isinstance(inputs, Mapping) else frozenset()
    names = program.input_names(bound, frozenset(constants))
    xs = {n: as_input(a, n, dtype) for n, a in _bind(names, inputs, "input").items()}
    cs = {n: as_input(a, n, dtype) for n, a in constants.items()}
    return program, names, xs, cs


def vjp(
    func: str | Program,
    inputs: Arrays,
    v: ArrayLike | Sequence[ArrayLike] | None = None,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    create_graph: bool = False,
    strict: bool = False,
    dtype: Any = None,
    threads: int | None = None,
    cache: bool = False,
) -> Outcome:
    """``(output, vjp)`` like ``torch.autograd.functional.vjp``: ``v`` has one cotangent per
    output (a tuple for a tuple output), and may be omitted for one one-element output.

    >>> out, g = vjp("lambda x, y: 2*x + 3*y", ([0.1, 0.2], [0.3, 0.4]), [1.0, 1.0])
    >>> g
    (array([2., 2.]), array([3., 3.]))
    """
    program, _, xs, cs = _point(func, inputs, constants, dtype)
    us = None if v is None else (list(v) if isinstance(v, tuple) else [v])
    return vjp_at(program, xs, us, cs, Options(create_graph, strict, dtype, threads, cache))


def jacobian(
    func: str | Program,
    inputs: Arrays,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
    chunk_size: int | None = None,
    dtype: Any = None,
    threads: int | None = None,
    cache: bool = False,
) -> Nested:
    """The Jacobian nested as ``torch.autograd.functional.jacobian`` nests it.
    ``vectorize`` is accepted for torch's sake: every strategy evaluates whole kernels."""
    program, _, xs, cs = _point(func, inputs, constants, dtype)
    options = Options(create_graph, strict, dtype, threads, cache)
    return jacobian_at(program, xs, cs, options, strategy, chunk_size).jacobian


def hessian(
    func: str | Program,
    inputs: Arrays,
    *,
    constants: Mapping[str, ArrayLike] | None = None,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
    dtype: Any = None,
    threads: int | None = None,
    cache: bool = False,
) -> Nested:
    """The Hessian nested as ``torch.autograd.functional.hessian`` nests it."""
    program, _, xs, cs = _point(func, inputs, constants, dtype)
    options = Options(create_graph, strict, dtype, threads, cache)
    return hessian_at(program, xs, cs, options, outer_jacobian_strategy).hessian


def _product(kind: str) -> Callable[..., Outcome]:
    def product(
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
    ) -> Outcome:
        program, names, xs, cs = _point(func, inputs, constants, dtype)
        ts = None if v is None else _bind(names, v, "tangent")
        return product_at(kind, program, xs, ts, cs, Options(create_graph, strict, dtype, threads, cache))

    product.__name__ = product.__qualname__ = kind
    product.__doc__ = f"``(output, {kind})`` like ``torch.autograd.functional.{kind}``."
    return product


hvp = _product("hvp")
vhp = _product("vhp")
