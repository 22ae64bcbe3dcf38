"""Which library a FUNC was written for: the hints its text gives (language.md, "the dialect").

numpy and torch read a few spellings differently (``x.transpose(0, 1)``, ``x.var()``,
``x.max(1)``, ...). The text decides: a ``torch.``/``F.`` prefix, a torch keyword
(``dim=``) or a method numpy arrays lack (``.exp()``) says torch; an ``np.`` prefix or a
numpy keyword (``axis=``) says numpy. The builder takes the reading only where a disputed
spelling is used, from ``--dialect``, else from these hints.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

DIALECTS = ("numpy", "torch")
TORCH_MODULES = frozenset({"torch", "F"})
NUMPY_MODULES = frozenset({"np", "numpy"})
TORCH_KEYWORDS = frozenset({"dim", "keepdim", "unbiased", "correction"})
NUMPY_KEYWORDS = frozenset({"axis", "keepdims", "ddof"})
#: the methods of numpy's ndarray: any other method call is torch's
NUMPY_METHODS = frozenset(
    [
        "all",
        "any",
        "argmax",
        "argmin",
        "argpartition",
        "argsort",
        "astype",
        "byteswap",
        "choose",
        "clip",
        "compress",
        "conj",
        "conjugate",
        "copy",
        "cumprod",
        "cumsum",
        "diagonal",
        "dot",
        "dump",
        "dumps",
        "fill",
        "flatten",
        "getfield",
        "item",
        "itemset",
        "max",
        "mean",
        "min",
        "newbyteorder",
        "nonzero",
        "partition",
        "prod",
        "ptp",
        "put",
        "ravel",
        "repeat",
        "reshape",
        "resize",
        "round",
        "searchsorted",
        "setfield",
        "setflags",
        "sort",
        "squeeze",
        "std",
        "sum",
        "swapaxes",
        "take",
        "tobytes",
        "tofile",
        "tolist",
        "tostring",
        "trace",
        "transpose",
        "var",
    ]
)
#: attributes (no call) that only torch tensors have
TORCH_ATTRIBUTES = frozenset({"values", "indices", "logabsdet", "sign", "mT", "H", "mH"})


class Hint(NamedTuple):
    """The first place the text says which library: line, column and what it says."""

    lineno: int
    col: int
    what: str


class Hints(NamedTuple):
    torch: Hint | None = None
    numpy: Hint | None = None

    def dialect(self) -> str | None:
        """The dialect the hints give; ``None`` when they give both or neither."""
        if self.torch and not self.numpy:
            return "torch"
        if self.numpy and not self.torch:
            return "numpy"
        return None


def hints(tree: ast.Module) -> Hints:
    """The first torch hint and the first numpy hint, in textual order."""
    found: dict[str, list[Hint]] = {"torch": [], "numpy": []}

    def note(kind: str, node: ast.AST, what: str) -> None:
        found[kind].append(Hint(getattr(node, "lineno", 0), getattr(node, "col_offset", 0), what))

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in TORCH_MODULES:
                note("torch", node, f"'{node.value.id}.'")
            elif node.value.id in NUMPY_MODULES:
                note("numpy", node, f"'{node.value.id}.'")
        if isinstance(node, ast.keyword) and node.arg in TORCH_KEYWORDS:
            note("torch", node, f"'{node.arg}='")
        elif isinstance(node, ast.keyword) and node.arg in NUMPY_KEYWORDS:
            note("numpy", node, f"'{node.arg}='")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if not _is_module(func.value) and func.attr not in NUMPY_METHODS:
                note("torch", func, f"'.{func.attr}()'")
        if isinstance(node, ast.Attribute) and node.attr in TORCH_ATTRIBUTES and not _is_module(node.value):
            note("torch", node, f"'.{node.attr}'")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                if name.split(".")[0] == "torch":
                    note("torch", node, f"'import {name}'")
                elif name.split(".")[0] == "numpy":
                    note("numpy", node, f"'import {name}'")
    first = {kind: min(items) if items else None for kind, items in found.items()}
    return Hints(first["torch"], first["numpy"])


def _is_module(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in (*TORCH_MODULES, *NUMPY_MODULES, "math", "scipy", "jnp", "nn")
