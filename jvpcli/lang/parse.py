"""FUNC text -> a checked Python AST. Nothing here runs user text.

The text is parsed with ``ast`` and every node is checked against a whitelist, in the
manner of simpleeval: anything not listed (comprehensions, dunder attributes, loops,
statements other than assignments and one ``return``) is refused with a caret under it.
A pasted module may hold ``import`` lines of known modules (checked, never run), constant
assignments, helper defs and, last, the def that is FUNC. Type hints are never read.
Long ``+``/``*`` chains are legal; nesting of anything else is capped.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from functools import lru_cache
from typing import NamedTuple, Union

from jvpcli.errors import ParseError
from jvpcli.lang import dialect

MAX_TEXT = 100_000
MAX_NODES = 200_000
MAX_DEPTH = 200
#: names a bare expression treats as constants, not inputs (unless bound explicitly)
CONSTANTS = frozenset({"pi", "e", "inf", "nan", "newaxis"})
#: module prefixes that are accepted and ignored: ``np.exp``, ``torch.linalg.det``
MODULES = frozenset({"np", "numpy", "torch", "F", "scipy", "math", "jnp", "nn"})
SUBMODULES = frozenset({"linalg", "special", "nn", "functional", "fft"})
#: what ``import`` may name (checked, never run): the module, the names it may be bound to
IMPORTABLE = {
    "torch": "torch",
    "torch.nn": "nn",
    "torch.nn.functional": "F",
    "torch.linalg": "linalg",
    "numpy": "np",
    "numpy.linalg": "linalg",
    "math": "math",
    "scipy": "scipy",
    "scipy.special": "special",
    "typing": "",
    "__future__": "",
}

_ALLOWED = (
    ast.Module,
    ast.Expr,
    ast.Lambda,
    ast.arguments,
    ast.arg,
    ast.FunctionDef,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Return,
    ast.Import,
    ast.ImportFrom,
    ast.alias,
    ast.Assert,
    ast.Pass,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Compare,
    ast.Starred,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.MatMult,
    ast.USub,
    ast.UAdd,
    ast.Invert,
    ast.BitAnd,
    ast.BitOr,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Eq,
    ast.NotEq,
)
#: what a refused construct is called in a message (Python's node names never reach the user)
CONSTRUCTS = {
    "For": "a for loop",
    "AsyncFor": "a for loop",
    "While": "a while loop",
    "If": "an if statement (FUNC is straight-line code: use where(cond, a, b))",
    "IfExp": "'a if c else b' (use where(cond, a, b))",
    "ListComp": "a list comprehension",
    "SetComp": "a set comprehension",
    "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression",
    "Dict": "a dict",
    "Set": "a set",
    "JoinedStr": "an f-string",
    "FormattedValue": "an f-string",
    "BoolOp": "'and'/'or' (use & and | between conditions)",
    "NamedExpr": "':='",
    "With": "a with statement",
    "Try": "a try statement",
    "Raise": "raise",
    "Delete": "del",
    "Global": "global",
    "Nonlocal": "nonlocal",
    "ClassDef": "a class",
    "AsyncFunctionDef": "an async def",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
    "Lambda": "a lambda inside FUNC",
    "Expr": "a bare expression statement",
    "Is": "'is'",
    "IsNot": "'is not'",
    "In": "'in'",
    "NotIn": "'not in'",
    "LShift": "'<<'",
    "RShift": "'>>'",
}
_CONSTANT_TYPES = (int, float, complex, str, bool, type(None), type(...))
#: BinOp chains that are flattened, so their length does not count as depth
CHAINS = ((ast.Add, ast.Sub), (ast.Mult,))

#: an assignment target: a name, or a tuple of targets (``a, (b, c) = ...``)
Target = Union[str, tuple]  # noqa: UP007 - a runtime alias, which Python 3.10 cannot write as str | tuple


class Function(NamedTuple):
    """A def (or lambda): parameters, defaults (constants that ``-c`` may override), body, result."""

    name: str
    params: tuple[str, ...]
    defaults: tuple[tuple[str, ast.expr], ...]
    body: tuple[tuple[Target, ast.expr], ...]
    result: ast.expr


class Program(NamedTuple):
    """A checked FUNC: parameters (``None`` for a bare expression), straight-line body, result."""

    text: str
    params: tuple[str, ...] | None
    body: tuple[tuple[Target, ast.expr], ...]
    result: ast.expr
    free_names: tuple[str, ...]
    #: parameters with a default value: constants, not inputs
    defaults: tuple[tuple[str, ast.expr], ...] = ()
    #: helper defs a pasted module holds before FUNC's own def
    helpers: tuple[Function, ...] = ()
    #: where the text says which library it was written for (``dialect.Hints``)
    hints: dialect.Hints = dialect.Hints()
    #: the reading asked for (--dialect): 'numpy', 'torch', or None (the hints decide)
    dialect: str | None = None

    def input_names(
        self, bound: frozenset[str] = frozenset(), constants: frozenset[str] = frozenset()
    ) -> tuple[str, ...]:
        """The inputs, in order: parameters, or a bare expression's free names.

        A built-in constant name (``e``) is an input only when ``bound`` names it;
        a name in ``constants`` (``-c``) never is, nor is a parameter with a default.
        """
        if self.params is not None:
            defaulted = {n for n, _ in self.defaults}
            return tuple(n for n in self.params if n not in constants and n not in defaulted)
        return tuple(n for n in self.free_names if n not in constants and (n not in CONSTANTS or n in bound))


def fail(message: str, text: str, node: ast.AST | None = None) -> ParseError:
    return ParseError(message, text, getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def construct(node: ast.AST) -> str:
    """A refused construct in words."""
    name = type(node).__name__
    return CONSTRUCTS.get(name, f"this construct ({name.lower()})")


@lru_cache(maxsize=256)
def parse(text: str) -> Program:
    """Parse and check FUNC text; raises ``ParseError`` pointing at the offending column.

    Memoised: a loop over ``jvp`` with one FUNC parses it once (a Program is never mutated).
    """
    if len(text) > MAX_TEXT:
        raise ParseError(f"FUNC is {len(text)} characters long; the limit is {MAX_TEXT}")
    text = textwrap.dedent(text).strip()
    if not text:
        raise ParseError("FUNC is empty")
    tree = _ast_parse(text)
    hints = dialect.hints(tree)
    _strip_annotations(tree)
    _check(tree, text)
    if not tree.body:
        raise ParseError("FUNC holds only comments")
    statements = [st for st in tree.body if not _is_import(st, text)]
    if not statements:
        raise fail("FUNC holds only imports: add the function", text, tree.body[-1])
    top = statements[-1]
    if isinstance(top, ast.FunctionDef):
        main = _function(top, text)
        helpers = [_function(st, text) for st in statements[:-1] if isinstance(st, ast.FunctionDef)]
        constants = _module_constants([st for st in statements[:-1] if not isinstance(st, ast.FunctionDef)], text)
        return Program(
            text, main.params, (*constants, *main.body), main.result, (), main.defaults, tuple(helpers), hints
        )
    if len(statements) != 1:
        raise fail("FUNC must be one expression, one lambda or one def", text, statements[1])
    if not isinstance(top, ast.Expr):
        raise fail(f"{construct(top)} is not allowed here", text, top)
    if isinstance(top.value, ast.Lambda):
        params, defaults = _params(top.value.args, text)
        return Program(text, params, (), top.value.body, (), defaults, (), hints)
    return Program(text, None, (), top.value, _free_names(top.value), (), (), hints)


def _ast_parse(text: str) -> ast.Module:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * MAX_TEXT // 5))  # long chains nest deeply in the AST
    try:
        return ast.parse(text, mode="exec")
    except SyntaxError as exc:
        line = exc.lineno or 1
        raise ParseError(f"syntax error: {exc.msg}", text, line, max((exc.offset or 1) - 1, 0)) from None
    except (RecursionError, MemoryError):
        raise ParseError("FUNC is nested too deeply to parse") from None
    except ValueError as exc:
        raise ParseError(f"FUNC cannot be parsed: {exc}") from None
    finally:
        sys.setrecursionlimit(limit)


def _strip_annotations(tree: ast.Module) -> None:
    """Type hints are never read: drop them before the whitelist (``-> torch.Tensor`` is fine)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.FunctionDef):
            node.returns = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant(None)


def _check(tree: ast.Module, text: str) -> None:
    """Whitelist every node; cap node count and non-chain nesting depth."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ParseError(f"FUNC has more than {MAX_NODES} syntax nodes")
        if depth > MAX_DEPTH:
            raise fail(f"FUNC nests deeper than {MAX_DEPTH} levels", text, node)
        if not isinstance(node, _ALLOWED):
            raise fail(f"{construct(node)} is not allowed in FUNC", text, node)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise fail(f"attribute '{node.attr}' is not allowed", text, node)
        if isinstance(node, ast.Constant) and not isinstance(node.value, _CONSTANT_TYPES):
            raise fail(f"constant {node.value!r} is not allowed", text, node)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth if _same_chain(node, child) else depth + 1))


def _same_chain(parent: ast.AST, child: ast.AST) -> bool:
    if not (isinstance(parent, ast.BinOp) and isinstance(child, ast.BinOp) and child is parent.left):
        return False
    return any(isinstance(parent.op, ops) and isinstance(child.op, ops) for ops in CHAINS)


def _is_import(st: ast.stmt, text: str) -> bool:
    """``import torch``, ``import numpy as np``, ``import torch.nn.functional as F``: checked, never run."""
    if isinstance(st, ast.Import):
        for alias in st.names:
            if alias.name not in IMPORTABLE:
                raise fail(f"'import {alias.name}': FUNC may import only {_importable()}", text, st)
            expected = IMPORTABLE[alias.name] if alias.asname else alias.name.split(".")[0]
            bound = alias.asname or alias.name.split(".")[0]
            if bound not in (expected, *MODULES):
                raise fail(f"'import {alias.name} as {bound}': write 'as {IMPORTABLE[alias.name]}'", text, st)
        return True
    if isinstance(st, ast.ImportFrom):
        module = st.module or ""
        for alias in st.names:
            full = f"{module}.{alias.name}"
            if module in ("typing", "__future__") or (module == "torch" and alias.name == "Tensor"):
                continue
            if module == "numpy" and alias.name == "ndarray":
                continue
            if full not in IMPORTABLE:
                raise fail(f"'from {module} import {alias.name}': FUNC may import only {_importable()}", text, st)
            bound = alias.asname or alias.name
            if bound not in (IMPORTABLE[full], *MODULES, *SUBMODULES):
                raise fail(f"'from {module} import {alias.name} as {bound}': write 'as {IMPORTABLE[full]}'", text, st)
        return True
    return False


def _importable() -> str:
    return ", ".join(name for name in IMPORTABLE if name not in ("typing", "__future__"))


def _params(args: ast.arguments, text: str) -> tuple[tuple[str, ...], tuple[tuple[str, ast.expr], ...]]:
    bad = next((x for x in (args.vararg, args.kwarg) if x is not None), None)
    if bad is not None:
        raise fail("'*args' and '**kwargs' parameters are not allowed", text, bad)
    positional = [*args.posonlyargs, *args.args]
    names = tuple(a.arg for a in (*positional, *args.kwonlyargs))
    if len(set(names)) != len(names):
        raise fail("duplicate parameter name", text, positional[0] if positional else args.kwonlyargs[0])
    defaults = list(zip((a.arg for a in positional[len(positional) - len(args.defaults) :]), args.defaults))
    defaults += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    missing = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    if missing:
        raise fail("a keyword-only parameter needs a default value", text, missing[0])
    return names, tuple(defaults)


def _function(fn: ast.FunctionDef, text: str) -> Function:
    if fn.decorator_list:
        raise fail("decorators are not allowed", text, fn.decorator_list[0])
    statements = [st for st in fn.body if not _is_import(st, text) and not isinstance(st, (ast.Assert, ast.Pass))]
    if (
        statements
        and isinstance(statements[0], ast.Expr)
        and isinstance(statements[0].value, ast.Constant)
        and isinstance(statements[0].value.value, str)
    ):
        statements = statements[1:]  # a docstring
    if not statements or not isinstance(statements[-1], ast.Return) or statements[-1].value is None:
        raise fail("a def must end with 'return EXPRESSION'", text, statements[-1] if statements else fn)
    body = [_assignment(st, text) for st in statements[:-1]]
    params, defaults = _params(fn.args, text)
    return Function(fn.name, params, defaults, tuple(body), statements[-1].value)


def _module_constants(statements: list[ast.stmt], text: str) -> list[tuple[Target, ast.expr]]:
    """``EPS = 1e-5`` before the def: a constant FUNC's def may read."""
    return [_assignment(st, text) for st in statements]


def _assignment(st: ast.stmt, text: str) -> tuple[Target, ast.expr]:
    """``h = e``, ``a, b = e``, ``h: T = e`` or ``h += e`` (as ``h = h + e``)."""
    if isinstance(st, ast.Assign) and len(st.targets) == 1:
        return _target(st.targets[0], text), st.value
    if isinstance(st, ast.AnnAssign) and st.value is not None and isinstance(st.target, ast.Name):
        return st.target.id, st.value
    if isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name):
        read = ast.copy_location(ast.Name(st.target.id, ast.Load()), st.target)
        return st.target.id, ast.copy_location(ast.BinOp(read, st.op, st.value), st)
    if isinstance(st, ast.AugAssign):
        raise fail("augmented assignment only to a name ('h += b'); x[i] += ... changes an array in place", text, st)
    raise fail("a def holds only assignments ('h = ...', 'a, b = ...', 'h += ...') and one final return", text, st)


def _target(node: ast.expr, text: str) -> Target:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in node.elts):
        return tuple(_target(e, text) for e in node.elts)
    raise fail("assign to a name or a tuple of names; FUNC never changes an array in place", text, node)


def _free_names(expr: ast.expr) -> tuple[str, ...]:
    """Names read by a bare expression, in textual order, less function names and modules."""
    skip: set[int] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            skip.add(id(node.func))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in MODULES:
            skip.add(id(node.value))
    names = sorted(
        (n.lineno, n.col_offset, n.id) for n in ast.walk(expr) if isinstance(n, ast.Name) and id(n) not in skip
    )
    return tuple(dict.fromkeys(name for *_, name in names))
