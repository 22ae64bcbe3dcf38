"""What a FUNC name may stand for besides an array or a Python number.

torch returns tuples from some functions (``x.max(dim=1)`` is ``(values, indices)``,
``torch.linalg.slogdet`` is ``(sign, logabsdet)``), splits arrays into pieces whose count is
known only at run time (``x.chunk(2)``, ``torch.unbind(x)``) and reads shapes
(``x.shape[-1]``). These classes carry them through the builder until indexing, an
attribute or unpacking turns them into arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from jvpcli.symbolic import ops as o


class Fields(tuple):
    """A tuple with named fields: ``.values`` or ``[0]``."""

    names: tuple[str, ...]

    def __new__(cls, items: tuple, names: tuple[str, ...]) -> Fields:
        obj = super().__new__(cls, items)
        obj.names = names
        return obj

    def field(self, name: str) -> Any:
        return self[self.names.index(name)]


class Pieces:
    """Pieces of an array along an axis: ``piece(i, count)`` is piece i of ``count`` (None: any)."""

    def __init__(self, piece: Callable[[int, int | None], sp.Expr], count: int | None, what: str) -> None:
        self.piece, self.count, self.what = piece, count, what

    def item(self, index: int) -> sp.Expr:
        if index < 0 and self.count is None:
            raise ValueError(f"{self.what} has a number of pieces known only at run time: index it from 0")
        return self.piece(index % self.count if self.count else index, self.count)

    def unpack(self, n: int) -> tuple[sp.Expr, ...]:
        if self.count is not None and self.count != n:
            raise ValueError(f"{self.what} gives {self.count} pieces, not {n}")
        return tuple(self.piece(i, n) for i in range(n))

    def all(self) -> tuple[sp.Expr, ...]:
        if self.count is None:
            raise ValueError(f"{self.what} has a number of pieces known only at run time: unpack it (a, b = ...)")
        return tuple(self.piece(i, self.count) for i in range(self.count))


class Shape:
    """``x.shape`` / ``x.size()``: each entry is x's length along that axis, known at run time."""

    def __init__(self, x: sp.Expr) -> None:
        self.x = x

    def item(self, index: int) -> sp.Expr:
        return o.ArraySize.make(self.x, axis=index)

    def unpack(self, n: int) -> tuple[sp.Expr, ...]:
        return tuple(self.item(i) for i in range(n))


class Dtype(str):
    """A dtype named in FUNC (``torch.float64``, ``x.dtype``): numpy's name, or '' for "as x"."""
