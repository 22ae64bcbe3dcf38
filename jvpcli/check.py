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
class CheckRow:
    name: str
    max_abs: float
    max_rel: float
    atol: float
    rtol: float
    passed: bool


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
    """The symbolic jvp against (f(x + h v) - f(x - h v)) / 2h, output by output."""
    options = (options or Options())._replace(create_graph=False, strict=False)
    result = result or jvp_at(program, point, options)
    h = step(point)
    plus, minus = (_flat(jvp_at(program, moved(point, s), options).output) for s in (h, -h))
    atol, rtol = TOLERANCES[precision(point)]
    rows = []
    tangents = _flat(result.jvp)
    for i, (tangent, p, m) in enumerate(zip(tangents, plus, minus)):
        with np.errstate(all="ignore"):
            estimate = (p.astype(np.complex128 if np.iscomplexobj(p) else np.float64) - m) / (2 * h)
            error = np.abs(tangent - estimate)
            scale = np.maximum(np.abs(estimate), np.finfo(np.float64).tiny)
        ok = bool(np.all(np.isclose(tangent, estimate, rtol=rtol, atol=atol, equal_nan=True)))
        rows.append(
            CheckRow(
                label("output", i, isinstance(result.jvp, tuple)),
                float(np.nanmax(error, initial=0)),
                float(np.nanmax(error / scale, initial=0)),
                atol,
                rtol,
                ok,
            )
        )
    return CheckReport(tuple(rows), h)


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
