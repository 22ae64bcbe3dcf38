"""Is the symbolic jvp right? Compare it with a central finite difference, like torch's gradcheck."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jvpcli.api import JvpResult, Options, Point, jvp_at
from jvpcli.kernels.kernel import label
from jvpcli.lang.parse import Program

#: (atol, rtol): torch.autograd.gradcheck's defaults for double precision, looser for single
TOLERANCES = {"double": (1e-5, 1e-3), "single": (1e-2, 1e-2)}


@dataclass(frozen=True)
class Kink:
    """Where f is not differentiable along v: the one-sided slopes disagree (first such entry)."""

    count: int
    index: tuple[int, ...]
    left: complex | float
    right: complex | float
    jvp: complex | float


@dataclass(frozen=True)
class CheckRow:
    name: str
    max_abs: float
    max_rel: float
    atol: float
    rtol: float
    passed: bool
    kink: Kink | None = None

    @property
    def verdict(self) -> str:
        if not self.passed:
            return "FAIL"
        return "not differentiable" if self.kink else "ok"


@dataclass(frozen=True)
class CheckReport:
    rows: tuple[CheckRow, ...]
    step: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)


def _flat(value: np.ndarray | tuple) -> tuple[np.ndarray, ...]:
    return value if isinstance(value, tuple) else (value,)


def precision(point: Point) -> str:
    dtype = np.result_type(*point.inputs.values(), *point.constants.values())
    return "single" if dtype.char in "efF" else "double"


def step(point: Point) -> float:
    """eps**(1/3), scaled to the inputs and the tangents: the best step of a central difference."""
    dtype = np.result_type(*point.inputs.values())
    eps = np.finfo(dtype).eps
    size = max((float(np.max(np.abs(x), initial=0)) for x in point.inputs.values()), default=0.0)
    speed = max((float(np.max(np.abs(t), initial=0)) for t in point.tangents.values()), default=0.0)
    return float(np.cbrt(eps) * (1 + size) / (speed or 1.0))


def moved(point: Point, t: float) -> Point:
    """The point ``x + t v``."""
    inputs = {n: (x + t * point.tangents[n]).astype(x.dtype) for n, x in point.inputs.items()}
    return point._replace(inputs=inputs)


def check(
    program: Program, point: Point, options: Options | None = None, result: JvpResult | None = None
) -> CheckReport:
    """The symbolic jvp against (f(x + h v) - f(x - h v)) / 2h, output by output.

    Where the one-sided slopes (f(x + h v) - f(x)) / h and (f(x) - f(x - h v)) / h disagree
    beyond the tolerance, and still do at h/2 (a smooth f's gap halves with h), f has a kink
    along v: there the jvp passes when it lies between the two slopes (torch's conventions,
    relu'(0) = 0, abs'(0) = 0, ..., all do), and the row says the point is not differentiable.
    """
    options = (options or Options())._replace(create_graph=False, strict=False)
    result = result or jvp_at(program, point, options)
    h = step(point)
    atol, rtol = TOLERANCES[precision(point)]
    outputs = _flat(result.output)
    plus, minus = (_flat(jvp_at(program, moved(point, s), options).output) for s in (h, -h))
    gaps = [_gap(p, o, m, h) for p, o, m in zip(plus, outputs, minus)]
    suspects = [g > atol + rtol * np.abs(s) for g, s in gaps]
    halves: list[tuple[np.ndarray, np.ndarray]] = []
    if any(np.any(s) for s in suspects):
        half_plus, half_minus = (_flat(jvp_at(program, moved(point, s), options).output) for s in (h / 2, -h / 2))
        halves = [_gap(p, o, m, h / 2) for p, o, m in zip(half_plus, outputs, half_minus)]
    rows = []
    for i, (tangent, p, m, o) in enumerate(zip(_flat(result.jvp), plus, minus, outputs)):
        kinks = suspects[i] & (halves[i][0] > 0.75 * gaps[i][0]) if halves else np.zeros(np.shape(o), bool)
        rows.append(_row(label("output", i, isinstance(result.jvp, tuple)), tangent, p, m, o, h, kinks, atol, rtol))
    return CheckReport(tuple(rows), h)


def _wide(a: np.ndarray) -> np.ndarray:
    return a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)


def _gap(plus: np.ndarray, at: np.ndarray, minus: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """|right slope - left slope| and the larger slope's size, entry by entry."""
    with np.errstate(all="ignore"):
        right, left = (_wide(plus) - at) / h, (_wide(at) - minus) / h
        return np.nan_to_num(np.abs(right - left)), np.maximum(np.abs(right), np.abs(left))


def _row(
    name: str,
    tangent: np.ndarray,
    plus: np.ndarray,
    minus: np.ndarray,
    at: np.ndarray,
    h: float,
    kinks: np.ndarray,
    atol: float,
    rtol: float,
) -> CheckRow:
    with np.errstate(all="ignore"):
        estimate = (_wide(plus) - minus) / (2 * h)
        error = np.where(kinks, 0, np.abs(tangent - estimate))
        scale = np.maximum(np.abs(estimate), np.finfo(np.float64).tiny)
        right, left = (_wide(plus) - at) / h, (_wide(at) - minus) / h
        # at a kink: the jvp on the segment between the one-sided slopes, within the tolerance
        between = np.abs(tangent - left) + np.abs(tangent - right) <= np.abs(right - left) + 2 * (
            atol + rtol * np.maximum(np.abs(left), np.abs(right))
        )
    close = np.isclose(tangent, estimate, rtol=rtol, atol=atol, equal_nan=True)
    ok = bool(np.all(np.where(kinks, between, close)))
    kink = None
    if np.any(kinks):
        first = tuple(int(k) for k in np.argwhere(kinks)[0])
        kink = Kink(int(np.count_nonzero(kinks)), first, left[first].item(), right[first].item(), tangent[first].item())
    return CheckRow(
        name, float(np.nanmax(error, initial=0)), float(np.nanmax(error / scale, initial=0)), atol, rtol, ok, kink
    )


def slope_curve(
    program: Program, point: Point, options: Options | None = None, n: int = 41, seed: int = 0
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """For each output, s(t) = <w, f(x + t v)> and its tangent line s(0) + t <w, jvp>, w a fixed direction."""
    options = (options or Options())._replace(create_graph=False, strict=False)
    span = 200 * step(point)
    ts = np.linspace(-span, span, n)
    centre = jvp_at(program, point, options)
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(np.shape(o)) for o in _flat(centre.output)]
    values = [_flat(jvp_at(program, moved(point, t), options).output) for t in ts]
    curves = []
    for i, w in enumerate(directions):
        s = np.array([np.real(np.sum(w * v[i])) for v in values])
        s0 = np.real(np.sum(w * _flat(centre.output)[i]))
        line = s0 + ts * np.real(np.sum(w * _flat(centre.jvp)[i]))
        curves.append((s, line))
    return ts, curves
