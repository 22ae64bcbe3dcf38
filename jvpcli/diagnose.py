"""Which FUNC operation numpy refused, when a kernel fails: its text with a caret, the shapes
of its operands and numpy's reason in plain words (no gufunc signatures).

Only on the error path: each operation of FUNC is compiled and run on the arrays in the order
it is computed, until one fails.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from jvpcli.errors import pointed

MAX_STEPS = 200
_SIGNATURE = re.compile(r",? with gufunc signature \S+")


def failing_step(program: Any, inputs: Mapping[str, np.ndarray], constants: Mapping[str, np.ndarray]) -> str | None:
    """A message naming the first operation of FUNC that numpy cannot compute, or None."""
    from jvpcli.kernels import codegen
    from jvpcli.kernels.compiler import symbol
    from jvpcli.kernels.loader import load
    from jvpcli.lang.build import build

    arrays = {**inputs, **constants}
    symbols = {n: symbol(n, bool(np.iscomplexobj(a))) for n, a in arrays.items()}
    trace: list = []
    try:
        build(program, symbols, trace=trace)
    except Exception:
        return None
    args = list(symbols.values())
    values = [arrays[s.name] for s in args]
    computed: dict[int, np.ndarray] = {}
    for node, expr in trace[:MAX_STEPS]:
        try:
            fn = load(codegen.source([expr], args))
            with np.errstate(all="ignore"):
                computed[id(node)] = np.asarray(fn(*values)[0])
        except (ValueError, IndexError, TypeError, np.linalg.LinAlgError) as exc:
            shapes = [np.shape(_operand(c, computed, arrays)) for c in _operands(node, computed, arrays)]
            segment = ast.get_source_segment(program.text, node) or "this operation"
            where = f" on operands of shapes {', '.join(map(str, shapes))}" if shapes else ""
            message = f"cannot compute '{segment}'{where}: {_SIGNATURE.sub('', str(exc)).strip()}"
            return pointed(message, program.text, getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    return None


def _operands(node: ast.AST, computed: dict[int, np.ndarray], arrays: Mapping[str, np.ndarray]) -> list[ast.AST]:
    children = [*ast.iter_child_nodes(node), *(k.value for k in getattr(node, "keywords", ()))]
    return [c for c in children if id(c) in computed or (isinstance(c, ast.Name) and c.id in arrays)]


def _operand(node: ast.AST, computed: dict[int, np.ndarray], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    if id(node) in computed:
        return computed[id(node)]
    assert isinstance(node, ast.Name)
    return arrays[node.id]
