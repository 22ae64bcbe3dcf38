"""Checked AST -> sympy expressions, one symbol per input array.

A dispatch table maps each AST node type to a handler. Elementwise results pass through
``keep_leaves`` so that a cancellation (``x - x``) keeps the shape numpy would give.
"""

from __future__ import annotations

import ast
import difflib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy as sp

from jvpcli.lang import constants
from jvpcli.lang import functions as fn
from jvpcli.lang.parse import CHAINS, MAX_DEPTH, MODULES, SUBMODULES, Program, fail
from jvpcli.symbolic import dag
from jvpcli.symbolic import ops as o
from jvpcli.symbolic.shapes import keep_leaves, leaves


@dataclass(frozen=True)
class Built:
    outputs: tuple[sp.Expr, ...]
    is_tuple: bool


def build(program: Program, names: Mapping[str, sp.Symbol]) -> Built:
    """Expressions of ``program``'s outputs, with ``names`` (inputs and constants) as symbols."""
    builder = _Builder(program.text, dict(names))
    started = time.process_time()
    for target, value in program.body:
        builder.env[target] = _named(_shallow(builder.value(value), program.text, value, started))
    result = program.result
    items = result.elts if isinstance(result, ast.Tuple) else [result]
    outputs = tuple(_shallow(builder.array(node, "an output"), program.text, node, started) for node in items)
    return Built(outputs, isinstance(result, ast.Tuple))


#: a statement whose value's tree is larger is kept as a named intermediate (``ArrayNamed``)
NAMED_FROM = 2000
#: CPU seconds for building FUNC's expressions, checked at each statement
MAX_SECONDS = 5.0


@lru_cache(maxsize=65536)
def depth(expr: sp.Basic) -> int:
    return 1 + max((depth(a) for a in expr.args), default=0)


def _named(value: Any) -> Any:
    """A statement's value behind one ``ArrayNamed`` node once its tree is large, so that the
    lines that use it cost what they build, not the tree of everything before them."""
    large = isinstance(value, sp.Expr) and not value.is_Atom and dag.tree_size([value]) > NAMED_FROM
    return o.ArrayNamed.make(value) if large and not constants.is_number(value) else value


def _shallow(value: Any, text: str, node: ast.AST, started: float) -> Any:
    """Assignments compose: cap the depth of what they build, not only of each line, and the
    time building takes (a message that points at the line, never minutes of silence)."""
    if not isinstance(value, sp.Basic):
        return value
    if depth(value) > MAX_DEPTH:
        raise fail(f"FUNC nests deeper than {MAX_DEPTH} levels once its assignments are substituted", text, node)
    spent = time.process_time() - started
    if spent > MAX_SECONDS:
        raise fail(
            f"building FUNC's expressions has taken {spent:.0f} s of CPU by this line (the limit is "
            f"{MAX_SECONDS:.0f} s): split FUNC into smaller steps",
            text,
            node,
        )
    return value


def _elementwise(result: sp.Expr, *args: Any) -> sp.Expr:
    if all(constants.is_number(a) for a in args if isinstance(a, sp.Basic)):
        return constants.fold(result, SPELLED)
    expected = frozenset().union(*(leaves(a) for a in args if isinstance(a, sp.Basic)))
    return keep_leaves(result, expected)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Div: constants.divide,
    ast.Pow: fn.power,
    ast.MatMult: lambda a, b: o.ArrayMatmul.make(a, b),
    ast.BitAnd: lambda a, b: o.ArrayLogic.make(a, b, op="&"),
    ast.BitOr: lambda a, b: o.ArrayLogic.make(a, b, op="|"),
}
#: the function names FUNC reads back (a constant needing another is folded to its value)
SPELLED = frozenset(fn.FUNCTIONS)
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class _Builder:
    def __init__(self, text: str, env: dict[str, Any]) -> None:
        self.text, self.env = text, env
        self.handlers: dict[type, Callable[[Any], Any]] = {
            ast.Constant: self._constant,
            ast.Name: self._name,
            ast.BinOp: self._binop,
            ast.UnaryOp: self._unaryop,
            ast.Compare: self._compare,
            ast.Call: self._call,
            ast.Attribute: self._attribute,
            ast.Subscript: self._subscript,
            ast.Tuple: self._sequence,
            ast.List: self._sequence,
        }

    def value(self, node: ast.AST) -> Any:
        handler = self.handlers.get(type(node))
        if handler is None:
            raise fail(f"'{type(node).__name__}' is not allowed here", self.text, node)
        try:
            return handler(node)
        except fn.ArgError as exc:
            raise fail(str(exc), self.text, node) from None

    def array(self, node: ast.AST, what: str = "an operand") -> sp.Expr:
        value = self.value(node)
        if not isinstance(value, sp.Expr):
            raise fail(f"{what} must be an array or a number, not {fn.kind_of(value)}", self.text, node)
        return value

    # ---- leaves ------------------------------------------------------------------
    def _constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, str) or v is Ellipsis:
            return v
        if isinstance(v, int):
            return fn.literal_int(v)
        if isinstance(v, float):
            return sp.Float(v)
        if isinstance(v, complex):
            return (sp.Float(v.real) if v.real else sp.S.Zero) + sp.Float(v.imag) * sp.I
        raise fail(f"constant {v!r} is not allowed", self.text, node)

    def _name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in fn.CONSTANTS:
            return fn.CONSTANTS[node.id]
        hint = _close(node.id, list(self.env) + list(fn.CONSTANTS))
        raise fail(f"unknown name '{node.id}'{hint}", self.text, node)

    # ---- operators ---------------------------------------------------------------
    def _binop(self, node: ast.BinOp) -> sp.Expr:
        chain = next((ops for ops in CHAINS if isinstance(node.op, ops)), None)
        if chain is None:
            a, b = self.array(node.left), self.array(node.right)
            result = _BINARY[type(node.op)](a, b)
            return result if isinstance(node.op, ast.MatMult) else _elementwise(result, a, b)
        terms = []
        link: ast.expr = node
        while isinstance(link, ast.BinOp) and isinstance(link.op, chain):
            term = self.array(link.right)
            terms.append(-term if isinstance(link.op, ast.Sub) else term)
            link = link.left
        terms.append(self.array(link))
        result = sp.Add(*terms) if chain is CHAINS[0] else sp.Mul(*terms)
        return _elementwise(result, *terms)

    def _unaryop(self, node: ast.UnaryOp) -> sp.Expr:
        a = self.array(node.operand)
        if isinstance(node.op, ast.Invert):
            return o.ArrayLogic.make(a, op="~")
        return _elementwise(-a, a) if isinstance(node.op, ast.USub) else a

    def _compare(self, node: ast.Compare) -> sp.Expr:
        values = [self.array(node.left)] + [self.array(c) for c in node.comparators]
        parts = [o.ArrayCompare.make(a, b, op=_COMPARE[type(op)]) for a, b, op in zip(values, values[1:], node.ops)]
        return parts[0] if len(parts) == 1 else o.ArrayLogic.make(*parts, op="&")

    # ---- calls and attributes ------------------------------------------------------
    def _call(self, node: ast.Call) -> Any:
        target, receiver = self._callee(node.func)
        args = [self.value(a) for a in node.args]
        if receiver is not None:
            args.insert(0, receiver)
        kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg is not None}
        if len(kwargs) != len(node.keywords):
            raise fail("'**' arguments are not allowed", self.text, node)
        return self._apply(target, args, kwargs)

    def _apply(self, target: fn.Builtin, args: list, kwargs: dict) -> Any:
        result = target(*args, **kwargs)
        if target.elementwise:
            return _elementwise(result, *args, *kwargs.values())
        return result

    def _callee(self, func: ast.expr) -> tuple[fn.Builtin, Any]:
        """The function called, and the receiver of a method call (else ``None``)."""
        if isinstance(func, ast.Name):
            if func.id in self.env:
                raise fail(f"'{func.id}' is a variable, not a function", self.text, func)
            return self._function(func.id, func), None
        if not isinstance(func, ast.Attribute):
            raise fail("only named functions can be called", self.text, func)
        if self._is_module(func.value):
            return self._function(func.attr, func), None
        target = self._function(func.attr, func)
        if not target.method:
            raise fail(f"'{func.attr}' is a function, not a method: write {func.attr}(...)", self.text, func)
        return target, self.array(func.value, "the receiver of a method")

    def _function(self, name: str, node: ast.AST) -> fn.Builtin:
        if name in fn.FUNCTIONS:
            return fn.FUNCTIONS[name]
        raise fail(f"unknown function '{name}'{_close(name, fn.FUNCTIONS)}", self.text, node)

    def _is_module(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in MODULES and node.id not in self.env
        return isinstance(node, ast.Attribute) and node.attr in SUBMODULES and self._is_module(node.value)

    def _attribute(self, node: ast.Attribute) -> Any:
        if self._is_module(node.value):
            if node.attr in fn.CONSTANTS:
                return fn.CONSTANTS[node.attr]
            raise fail(f"'{node.attr}' is not a constant; call functions with (...)", self.text, node)
        if node.attr not in fn.ATTRIBUTES:
            hint = " (methods need parentheses)" if node.attr in fn.FUNCTIONS else ""
            raise fail(f"attribute '{node.attr}' is not supported{hint}", self.text, node)
        return self._apply(fn.ATTRIBUTES[node.attr], [self.array(node.value, "the object of an attribute")], {})

    # ---- indexing and sequences ------------------------------------------------------
    def _subscript(self, node: ast.Subscript) -> sp.Expr:
        x = self.array(node.value, "an indexed value")
        if constants.is_number(x):
            raise fail("a number cannot be indexed; only arrays can", self.text, node)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return o.ArrayIndex.make(x, index=tuple(self._index_item(i) for i in items))

    def _index_item(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Slice):
            parts = (self._static_int(p) if p is not None else None for p in (node.lower, node.upper, node.step))
            return ("slice", *parts)
        value = self.value(node)
        if value is None or value is Ellipsis:
            return "..." if value is Ellipsis else None
        return self._static_int(node, value)

    def _static_int(self, node: ast.AST, value: Any = None) -> int:
        value = self.value(node) if value is None else value
        if isinstance(value, sp.Integer):
            return int(value)
        raise fail("an index must be an integer literal, a slice, '...' or None", self.text, node)

    def _sequence(self, node: ast.Tuple | ast.List) -> tuple:
        return tuple(self.value(e) for e in node.elts)


def _close(name: str, candidates: Any) -> str:
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
