"""What the symbolic stage hands to evaluation: plain data, so it can be cached on disk.

A kernel computes named results from its arguments (inputs, then the per-call extras such
as tangents or cotangents, then constants); it does not know which derivative a result
holds. NamedTuples, not dataclasses: they are on the start-up path of every call.
"""

from __future__ import annotations

from typing import Any, NamedTuple


def label(kind: str, index: int, is_tuple: bool) -> str:
    """How messages and tables name a result: ``output``, or ``output 1`` of a tuple."""
    return f"{kind} {index}" if is_tuple else kind


class Graph(NamedTuple):
    """The symbolic output and jvp in FUNC's language; tangents are named ``v_NAME``."""

    output: tuple[str, ...]
    jvp: tuple[str, ...]
    tangents: tuple[str, ...]


class Result(NamedTuple):
    """One result of a kernel and the shape and kind it is given.

    ``like`` is ``("arg", i)`` or ``("result", i)``: the result is broadcast to that array's
    shape and is real when it is real (a derivative that cancelled to a constant keeps its
    shape). ``lead`` is an argument whose leading axis comes first (a batch of tangents).
    ``None``: the shape and kind the kernel computes.
    """

    name: str
    like: tuple[str, int] | None = None
    lead: int | None = None


class Kernel(NamedTuple):
    """Generated numpy source ``kernel(inputs..., extras..., constants...)`` and facts about it."""

    #: which family member derived it (part of the cache key; evaluation never reads it)
    mode: str
    inputs: tuple[str, ...]
    extras: tuple[str, ...]
    constants: tuple[str, ...]
    source: str
    results: tuple[Result, ...]
    is_tuple: bool
    #: per result, the arguments (by position) it depends on symbolically: what strict needs
    depends: tuple[tuple[int, ...], ...]
    #: per result, the arguments it depends on through elementwise operations only
    elementwise: tuple[tuple[int, ...], ...]
    #: every operation acts row by row along axis 0, so blocks of rows can run apart
    row_wise: bool
    #: distinct operations per element: threads pay off early for busy kernels
    cost: int
    #: some operation reduces an axis: blocks then spare full-size temporaries outright
    reduces: bool
    #: per result, its expression in FUNC's language (``create_graph``)
    graph: tuple[str, ...] | None
    #: the first operation that mixes rows of axis 0, in FUNC's language ("" when row_wise)
    row_breaker: str = ""
    #: what stderr says once per call: a disputed spelling read without a hint of its library
    notes: tuple[str, ...] = ()
    #: where the kernel is not row-wise but each result is either row-wise or a reduction over
    #: the rows of row-wise work: per result, "" or how blocks combine ("sum", "mean"), and the
    #: arguments (by position) of what it reduces; () otherwise
    row_reductions: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Kernel:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        fields["results"] = tuple(
            Result(name, tuple(like) if like else None, lead) for name, like, lead in fields["results"]
        )
        fields["depends"] = tuple(tuple(d) for d in fields["depends"])
        fields["elementwise"] = tuple(tuple(d) for d in fields["elementwise"])
        fields["row_reductions"] = tuple((how, tuple(used)) for how, used in fields.get("row_reductions", ()))
        return cls(**fields)
