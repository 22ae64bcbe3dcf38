"""What the symbolic stage hands to evaluation: plain data, so it can be cached on disk.

NamedTuples, not dataclasses: they are on the start-up path of every call.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Graph(NamedTuple):
    """The symbolic output and jvp in FUNC's language; tangents are named ``v_NAME``."""

    output: tuple[str, ...]
    jvp: tuple[str, ...]
    tangents: tuple[str, ...]


class Kernel(NamedTuple):
    """Generated numpy source ``kernel(inputs..., tangents..., constants...)`` and facts about it."""

    inputs: tuple[str, ...]
    constants: tuple[str, ...]
    source: str
    n_outputs: int
    is_tuple: bool
    #: inputs on which no output depends, and outputs that depend on no input
    unused_inputs: tuple[str, ...]
    constant_outputs: tuple[int, ...]
    #: every operation acts row by row along axis 0, so blocks of rows can run apart
    row_wise: bool
    #: distinct operations per element: threads pay off early for busy kernels
    cost: int
    #: some operation reduces an axis: blocks then spare full-size temporaries outright
    reduces: bool
    graph: Graph | None
    #: what stderr says once per call: a disputed spelling read without a hint of its library
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "graph": self.graph._asdict() if self.graph else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Kernel:
        graph = data.get("graph")
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "graph"}
        return cls(**fields, graph=Graph(**{k: tuple(v) for k, v in graph.items()}) if graph else None)
