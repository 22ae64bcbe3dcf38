"""FUNC text -> a checked Python AST. Nothing here runs user text.

The text is parsed with ``ast`` and every node is checked against a whitelist, in the
manner of simpleeval: anything not listed (imports, comprehensions, dunder attributes,
statements other than assignments and one ``return``) is refused with a caret under it.
Long ``+``/``*`` chains are legal; nesting of anything else is capped.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from functools import lru_cache
from typing import NamedTuple

from jvpcli.errors import ParseError

MAX_TEXT = 100_000
MAX_NODES = 200_000
MAX_DEPTH = 200
#: names a bare expression treats as constants, not inputs (unless bound explicitly)
CONSTANTS = frozenset({"pi", "e", "inf", "nan", "newaxis"})
#: module prefixes that are accepted and ignored: ``np.exp``, ``torch.linalg.det``
MODULES = frozenset({"np", "numpy", "torch", "F", "scipy", "math", "jnp"})
SUBMODULES = frozenset({"linalg", "special", "nn", "functional"})

_ALLOWED = (
    ast.Module,
    ast.Expr,
    ast.Lambda,
    ast.arguments,
    ast.arg,
    ast.FunctionDef,
    ast.Assign,
    ast.Return,
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
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
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
_CONSTANT_TYPES = (int, float, complex, str, bool, type(None), type(...))
#: BinOp chains that are flattened, so their length does not count as depth
CHAINS = ((ast.Add, ast.Sub), (ast.Mult,))


class Program(NamedTuple):
    """A checked FUNC: parameters (``None`` for a bare expression), straight-line body, result."""

    text: str
    params: tuple[str, ...] | None
    body: tuple[tuple[str, ast.expr], ...]
    result: ast.expr
    free_names: tuple[str, ...]

    def input_names(
        self, bound: frozenset[str] = frozenset(), constants: frozenset[str] = frozenset()
    ) -> tuple[str, ...]:
        """The inputs, in order: parameters, or a bare expression's free names.

        A built-in constant name (``e``) is an input only when ``bound`` names it;
        a name in ``constants`` (``-c``) never is.
        """
        if self.params is not None:
            return self.params
        return tuple(n for n in self.free_names if n not in constants and (n not in CONSTANTS or n in bound))


def fail(message: str, text: str, node: ast.AST | None = None) -> ParseError:
    return ParseError(message, text, getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


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
    _check(tree, text)
    if not tree.body:
        raise ParseError("FUNC holds only comments")
    if len(tree.body) != 1:
        raise fail("FUNC must be one expression, one lambda or one def", text, tree.body[1])
    top = tree.body[0]
    if isinstance(top, ast.FunctionDef):
        return _from_def(top, text)
    if not isinstance(top, ast.Expr):
        raise fail(f"'{type(top).__name__}' statements are not allowed here", text, top)
    if isinstance(top.value, ast.Lambda):
        return Program(text, _params(top.value.args, text), (), top.value.body, ())
    return Program(text, None, (), top.value, _free_names(top.value))


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
            raise fail(f"'{type(node).__name__}' is not allowed in FUNC", text, node)
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


def _params(args: ast.arguments, text: str) -> tuple[str, ...]:
    extras = (args.vararg, args.kwarg, *args.kwonlyargs, *args.defaults, *args.posonlyargs)
    bad = next((x for x in extras if x is not None), None)
    if bad is not None:
        raise fail("only plain positional parameters are allowed", text, bad)
    names = tuple(a.arg for a in args.args)
    for a in args.args:
        if a.annotation is not None:
            raise fail("parameter annotations are not allowed", text, a.annotation)
    if len(set(names)) != len(names):
        raise fail("duplicate parameter name", text, args.args[0])
    return names


def _from_def(fn: ast.FunctionDef, text: str) -> Program:
    if fn.decorator_list or fn.returns:
        raise fail("decorators and return annotations are not allowed", text, fn)
    statements = list(fn.body)
    if (
        statements
        and isinstance(statements[0], ast.Expr)
        and isinstance(statements[0].value, ast.Constant)
        and isinstance(statements[0].value.value, str)
    ):
        statements = statements[1:]  # a docstring
    if not statements or not isinstance(statements[-1], ast.Return) or statements[-1].value is None:
        raise fail("a def must end with 'return EXPRESSION'", text, statements[-1] if statements else fn)
    body = []
    for st in statements[:-1]:
        if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)):
            raise fail("a def holds only assignments 'name = expression' and one final return", text, st)
        body.append((st.targets[0].id, st.value))
    return Program(text, _params(fn.args, text), tuple(body), statements[-1].value, ())


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
