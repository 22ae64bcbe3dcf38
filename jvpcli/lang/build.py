"""Checked AST -> sympy expressions, one symbol per input array.

A dispatch table maps each AST node type to a handler. Elementwise results pass through
``keep_leaves`` so that a cancellation (``x - x``) keeps the shape numpy would give.
Where numpy and torch read a call differently, the dialect decides (``_Builder._reading``).
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
from jvpcli.lang.dialect import DIALECTS
from jvpcli.lang.parse import CHAINS, MAX_DEPTH, MODULES, SUBMODULES, Function, Program, Target, fail
from jvpcli.lang.tensors import DTYPES
from jvpcli.lang.values import Dtype, Fields, Pieces, Shape
from jvpcli.symbolic import dag
from jvpcli.symbolic import ops as o
from jvpcli.symbolic.shapes import keep_leaves, leaves

#: module prefixes that say which library a call is spelled for
PREFIX_DIALECT = {"torch": "torch", "F": "torch", "nn": "torch", "np": "numpy", "numpy": "numpy"}
#: what to write instead of a name FUNC does not have
EQUIVALENTS = {
    **dict.fromkeys(
        ("rand", "randn", "randint", "rand_like", "randn_like", "normal", "bernoulli", "multinomial", "randperm"),
        "random numbers are not a function of the inputs: pass them as a constant (-c noise=randn(3, 4))",
    ),
    "item": "x.item() is a Python number: use x itself (a 0-d array)",
    "tolist": "use x itself",
    "numpy": "x.numpy() is x itself here: leave it out",
    "cpu": "leave it out: jvpcli has no devices",
    "cuda": "leave it out: jvpcli has no devices",
    "requires_grad_": "leave it out: the inputs are what jvpcli differentiates",
    "empty": "write zeros(...)",
    "empty_like": "write zeros_like(x)",
    "new_zeros": "write zeros(...)",
    "new_ones": "write ones(...)",
    "one_hot": "write (y[..., None] == arange(C)) as a mask, or pass the one-hot array as a constant",
    "matrix_power": "write A @ A @ ...",
    "median": "median is not supported (numpy averages the middle pair, torch takes the lower): use sort",
    "eigh": "eigendecompositions are not supported",
    "eig": "eigendecompositions are not supported",
    "eigvalsh": "eigendecompositions are not supported",
    "svd": "the SVD is not supported",
    "svdvals": "the SVD is not supported",
    "qr": "the QR decomposition is not supported",
    "pinv": "write solve(A.T @ A, A.T) for a full-rank A",
    "lstsq": "write solve(A.T @ A, A.T @ b) for a full-rank A",
    "conv1d": "convolutions are not supported: write them with einsum or matmul",
    "conv2d": "convolutions are not supported: write them with einsum or matmul",
    "max_pool2d": "pooling is not supported: write it with reshape and amax",
    "avg_pool2d": "pooling is not supported: write it with reshape and mean",
    "batch_norm": "write (x - mean) / sqrt(var + eps) * weight + bias with the running statistics as constants",
    "hardsigmoid": "torch cannot differentiate hardsigmoid twice, so torch.autograd.functional.jvp fails on it: "
    "write clamp(x / 6 + 0.5, 0, 1)",
    "hardswish": "torch cannot differentiate hardswish twice, so torch.autograd.functional.jvp fails on it: "
    "write x * clamp(x / 6 + 0.5, 0, 1)",
    "linspace": "write start + arange(n) * (stop - start) / (n - 1), or pass it as a constant (-c t=linspace(0,1,5))",
    "range": "write arange(n)",
    "int": "write the integer itself",
    "print": "leave it out: FUNC is never run",
    **dict.fromkeys(
        (
            "Linear",
            "Conv1d",
            "Conv2d",
            "LayerNorm",
            "Embedding",
            "Sequential",
            "ReLU",
            "GELU",
            "Dropout",
            "MultiheadAttention",
        ),
        "torch.nn modules are objects with parameters: write the function (F.linear(x, W, b), F.layer_norm, ...) "
        "with the parameters as inputs or constants",
    ),
}


@dataclass(frozen=True)
class Built:
    outputs: tuple[sp.Expr, ...]
    is_tuple: bool
    #: one line for stderr when a disputed spelling was read without a hint (language.md)
    notes: tuple[str, ...] = ()


def build(
    program: Program,
    names: Mapping[str, sp.Symbol],
    dialect: str | None = None,
    trace: list[tuple[ast.AST, sp.Expr]] | None = None,
) -> Built:
    """Expressions of ``program``'s outputs, with ``names`` (inputs and constants) as symbols.

    ``dialect`` (``numpy`` or ``torch``) reads the disputed spellings; ``None``: the text's hints.
    ``trace`` collects each operation's node and expression, in the order they are computed.
    """
    builder = _Builder(program, dict(names), dialect or program.dialect)
    builder.trace = trace
    for name, node in program.defaults:
        if name not in builder.env:
            builder.env[name] = builder.value(node)
    builder.run(program.body)
    result, started = program.result, builder.started
    value = builder.value(result)
    if isinstance(result, ast.Tuple) or isinstance(value, (tuple, Pieces)):
        items = builder.items(value, result)
        outputs = tuple(
            _shallow(builder.as_array(v, result, "an output"), program.text, result, started) for v in items
        )
        return Built(outputs, True, builder.note())
    output = _shallow(builder.as_array(value, result, "an output"), program.text, result, started)
    return Built((output,), False, builder.note())


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


def _floordiv(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return sp.Integer(int(a) // int(b)) if isinstance(a, sp.Integer) and isinstance(b, sp.Integer) else sp.floor(a / b)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Div: constants.divide,
    ast.FloorDiv: _floordiv,
    ast.Mod: lambda a, b: a - b * _floordiv(a, b),
    ast.Pow: fn.power,
    ast.MatMult: lambda a, b: o.ArrayMatmul.make(a, b),
    ast.BitAnd: lambda a, b: o.ArrayLogic.make(a, b, op="&"),
    ast.BitOr: lambda a, b: o.ArrayLogic.make(a, b, op="|"),
}
#: the function names FUNC reads back (a constant needing another is folded to its value)
SPELLED = frozenset(fn.FUNCTIONS)
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FLOATS = {"inf": sp.oo, "-inf": -sp.oo, "+inf": sp.oo, "infinity": sp.oo, "-infinity": -sp.oo, "nan": sp.nan}
MAX_CALLS = 64
_TRACED = (ast.BinOp, ast.Call, ast.Subscript, ast.Attribute, ast.UnaryOp)


class _Builder:
    def __init__(self, program: Program, env: dict[str, Any], dialect: str | None) -> None:
        self.text, self.env = program.text, env
        self.hints, self.explicit = program.hints, dialect
        self.dialect = dialect or program.hints.dialect()
        self.helpers: dict[str, Function] = {h.name: h for h in program.helpers}
        self.calls: list[str] = []
        self.started = time.process_time()
        self.trace: list[tuple[ast.AST, sp.Expr]] | None = None
        self.notes: list[tuple[str, str, str]] = []
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

    def run(self, body: tuple[tuple[Target, ast.expr], ...]) -> None:
        for target, node in body:
            self.assign(target, _named(_shallow(self.value(node), self.text, node, self.started)), node)

    def assign(self, target: Target, value: Any, node: ast.AST) -> None:
        if isinstance(target, str):
            self.env[target] = value
            return
        items = self.items(value, node, len(target))
        if len(items) != len(target):
            raise fail(f"cannot unpack {len(items)} values into {len(target)} names", self.text, node)
        for t, v in zip(target, items):
            self.assign(t, v, node)

    def items(self, value: Any, node: ast.AST, n: int | None = None) -> tuple:
        """The items of a tuple-like value: a tuple, pieces, a shape, or an array's rows."""
        try:
            if isinstance(value, tuple):
                return value
            if isinstance(value, (Pieces, Shape)) and n is not None:
                return value.unpack(n)
            if isinstance(value, Pieces):
                return value.all()
            if isinstance(value, sp.Expr) and n is not None:  # a, b = x: x's rows, as torch iterates
                return fn.FUNCTIONS["unbind"](value).unpack(n)
        except ValueError as exc:
            raise fail(str(exc), self.text, node) from None
        raise fail(f"cannot unpack {fn.kind_of(value)}", self.text, node)

    def note(self) -> tuple[str, ...]:
        if not self.notes:
            return ()
        spelling, numpy, torch = self.notes[0]
        more = f" (and {len(self.notes) - 1} more disputed spelling(s))" if len(self.notes) > 1 else ""
        return (
            f"'{spelling}' is read as numpy reads it ({numpy}){more}: the text has no hint of torch or numpy; "
            f"torch reads it as {torch}, which --dialect torch (dialect='torch') asks for",
        )

    def value(self, node: ast.AST) -> Any:
        handler = self.handlers.get(type(node))
        if handler is None:
            raise fail(f"{_construct(node)} is not allowed here", self.text, node)
        try:
            result = handler(node)
        except fn.ArgError as exc:
            raise fail(str(exc), self.text, _keyword_node(node, exc.keyword)) from None
        if self.trace is not None and isinstance(result, sp.Expr) and isinstance(node, _TRACED):
            self.trace.append((node, result))
        return result

    def array(self, node: ast.AST, what: str = "an operand") -> sp.Expr:
        return self.as_array(self.value(node), node, what)

    def as_array(self, value: Any, node: ast.AST, what: str) -> sp.Expr:
        if isinstance(value, sp.Expr):
            return value
        hint = ""
        if isinstance(value, Fields):
            hint = f": take one of its fields ({', '.join('.' + n for n in value.names)}, or [0], [1])"
        elif isinstance(value, (Pieces, tuple)):
            hint = ": index it ([0]) or unpack it (a, b = ...)"
        elif isinstance(value, Shape):
            hint = ": index it (x.shape[-1])"
        raise fail(f"{what} must be an array or a number, not {_kind(value)}{hint}", self.text, node)

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
        if node.id in self.helpers or node.id in fn.FUNCTIONS:
            raise fail(f"'{node.id}' is a function: call it with (...)", self.text, node)
        hint = _close(node.id, list(self.env) + list(fn.CONSTANTS))
        raise fail(f"unknown name '{node.id}'{hint}", self.text, node)

    # ---- operators ---------------------------------------------------------------
    def _promoted(self, operands: list, divides: bool = False) -> list:
        """torch's promotion of its integer arrays (``torch.arange(n)``) next to a float number, a
        float32 array or in a true division: to float32, its default dtype (numpy would give float64)."""
        if (self.explicit or self.dialect) != "torch" or not any(_torch_int(a) for a in operands):
            return operands
        floats = any(_float_scalar(a) or _float32(a) for a in operands)
        if not (divides or floats):
            return operands
        return [o.ArrayCast.make(a, dtype="float32") if _torch_int(a) else a for a in operands]

    def _binop(self, node: ast.BinOp) -> sp.Expr:
        chain = next((ops for ops in CHAINS if isinstance(node.op, ops)), None)
        if chain is None:
            a, b = self.array(node.left), self.array(node.right)
            if not isinstance(node.op, (ast.FloorDiv, ast.Mod, ast.BitAnd, ast.BitOr)):
                a, b = self._promoted([a, b], isinstance(node.op, ast.Div))
            result = _BINARY[type(node.op)](a, b)
            return result if isinstance(node.op, ast.MatMult) else _elementwise(result, a, b)
        terms = []
        link: ast.expr = node
        while isinstance(link, ast.BinOp) and isinstance(link.op, chain):
            term = self.array(link.right)
            terms.append(-term if isinstance(link.op, ast.Sub) else term)
            link = link.left
        terms.append(self.array(link))
        terms = self._promoted(terms)
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
        if isinstance(node.func, ast.Name) and node.func.id in self.helpers and node.func.id not in self.env:
            return self._inline(self.helpers[node.func.id], node)
        if isinstance(node.func, ast.Name) and node.func.id == "float" and node.func.id not in self.env:
            return self._float(node)
        target, receiver, prefix = self._callee(node.func)
        args = self._arguments(node)
        if receiver is not None:
            args.insert(0, receiver)
        kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg is not None}
        if len(kwargs) != len(node.keywords):
            raise fail("'**' arguments are not allowed", self.text, node)
        if target.elementwise and target.name not in _KEEPS_INTEGERS:
            args = self._promoted(args, divides=True)  # torch.sin(torch.arange(n)) is float32
        result = self._reading(target, args, kwargs, node, prefix)
        if target.elementwise and isinstance(result, sp.Expr):
            return _elementwise(result, *args, *kwargs.values())
        return result

    def _arguments(self, node: ast.Call) -> list:
        args: list = []
        for a in node.args:
            if not isinstance(a, ast.Starred):
                args.append(self.value(a))
                continue
            value = self.value(a.value)
            if not isinstance(value, tuple):
                raise fail(f"'*' unpacks a tuple here, not {_kind(value)}", self.text, a)
            args.extend(value)
        return args

    def _reading(self, target: fn.Builtin, args: list, kwargs: dict, node: ast.Call, prefix: str | None) -> Any:
        """Call ``target`` as the dialect reads it; where no dialect is known, find out
        whether the two readings differ here (language.md: mixed text is an error, text
        without hints takes numpy's and a note)."""
        if target.torch is None:
            return target.call("numpy", args, kwargs)
        chosen = self.explicit or prefix or self.dialect
        if chosen:
            try:
                return target.call(chosen, args, kwargs)
            except fn.ArgError:  # a call only the other library can read is read as it reads it
                other = DIALECTS[1 - DIALECTS.index(chosen)]
                try:
                    return target.call(other, args, kwargs)
                except fn.ArgError:
                    pass
                raise
        results, errors = {}, {}
        for dialect in DIALECTS:
            try:
                results[dialect] = target.call(dialect, args, kwargs)
            except fn.ArgError as exc:
                errors[dialect] = exc
        if not results:
            raise errors["numpy"]
        if len(results) == 1 or _same(results["numpy"], results["torch"]) or not target.readings[0]:
            return results.get("numpy", results.get("torch"))  # the same, or only in precision
        spelling = ast.get_source_segment(self.text, node) or target.name
        numpy, torch = target.readings
        if self.hints.torch and self.hints.numpy:
            t, n = self.hints.torch, self.hints.numpy
            raise fail(
                f"'{spelling}' means {numpy} in numpy and {torch} in torch, and this FUNC has hints of both "
                f"({t.what} on line {t.lineno}, {n.what} on line {n.lineno}): give --dialect numpy or --dialect torch "
                "(dialect= in Python)",
                self.text,
                node,
            )
        self.notes.append((spelling, numpy, torch))
        return results["numpy"]

    def _float(self, node: ast.Call) -> sp.Expr:
        args = [self.value(a) for a in node.args]
        if len(args) == 1 and isinstance(args[0], str) and args[0].strip().lower() in _FLOATS:
            return _FLOATS[args[0].strip().lower()]
        if len(args) == 1 and isinstance(args[0], str):
            try:
                return sp.Float(float(args[0]))
            except ValueError:
                pass
        if len(args) == 1 and isinstance(args[0], sp.Expr) and args[0].is_Number:
            return sp.Float(float(args[0]))
        raise fail("float() takes a number or 'inf', '-inf', 'nan'", self.text, node)

    def _inline(self, helper: Function, node: ast.Call) -> Any:
        """A helper def called from FUNC: its body, with the arguments bound to its parameters."""
        if helper.name in self.calls or len(self.calls) >= MAX_CALLS:
            raise fail(f"'{helper.name}' calls itself: FUNC is straight-line code", self.text, node)
        args = self._arguments(node)
        kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg is not None}
        if len(args) > len(helper.params):
            raise fail(f"{helper.name}() takes {len(helper.params)} arguments, not {len(args)}", self.text, node)
        local = dict(zip(helper.params, args))
        for name, value in kwargs.items():
            if name not in helper.params or name in local:
                raise fail(f"{helper.name}() has no parameter '{name}' to give", self.text, _keyword_node(node, name))
            local[name] = value
        saved, self.env = self.env, {**self.env, **local}
        self.calls.append(helper.name)
        try:
            for name, default in helper.defaults:
                if name not in local:
                    self.env[name] = self.value(default)
            missing = [p for p in helper.params if p not in local and p not in dict(helper.defaults)]
            if missing:
                raise fail(f"{helper.name}() needs its argument '{missing[0]}'", self.text, node)
            self.run(helper.body)
            return self.value(helper.result)
        finally:
            self.env = saved
            self.calls.pop()

    def _callee(self, func: ast.expr) -> tuple[fn.Builtin, Any, str | None]:
        """The function called, the receiver of a method call (else ``None``), and the dialect
        its module prefix says (``torch.max`` is torch's max)."""
        if isinstance(func, ast.Name):
            if func.id in self.env:
                raise fail(f"'{func.id}' is a variable, not a function", self.text, func)
            return self._function(func.id, func), None, None
        if not isinstance(func, ast.Attribute):
            raise fail("only named functions can be called", self.text, func)
        path = self._module_path(func.value)
        if path is not None:
            qualified = f"{path[-1]}.{func.attr}"
            target = fn.FUNCTIONS.get(qualified) or self._function(func.attr, func)
            return target, None, PREFIX_DIALECT.get(path[0])
        target = self._function(func.attr, func)
        if not target.method:
            raise fail(f"'{func.attr}' is a function, not a method: write {func.attr}(...)", self.text, func)
        return target, self.array(func.value, "the receiver of a method"), None

    def _function(self, name: str, node: ast.AST) -> fn.Builtin:
        if name in fn.FUNCTIONS:
            return fn.FUNCTIONS[name]
        if name in EQUIVALENTS:
            raise fail(f"'{name}' is not supported: {EQUIVALENTS[name]}", self.text, node)
        raise fail(f"unknown function '{name}'{_close(name, fn.FUNCTIONS)}", self.text, node)

    def _module_path(self, node: ast.expr) -> list[str] | None:
        """``['torch', 'linalg']`` for ``torch.linalg``; None when ``node`` is not a module."""
        if isinstance(node, ast.Name):
            return [node.id] if node.id in MODULES and node.id not in self.env else None
        if isinstance(node, ast.Attribute) and node.attr in SUBMODULES:
            path = self._module_path(node.value)
            return None if path is None else [*path, node.attr]
        return None

    def _attribute(self, node: ast.Attribute) -> Any:
        if self._module_path(node.value) is not None:
            if node.attr in fn.CONSTANTS:
                return fn.CONSTANTS[node.attr]
            if node.attr in DTYPES:
                return Dtype(DTYPES[node.attr])
            if node.attr in ("Tensor", "ndarray"):
                raise fail(f"'{node.attr}' is a type: FUNC never builds one", self.text, node)
            raise fail(f"'{node.attr}' is not a constant; call functions with (...)", self.text, node)
        value = self.value(node.value)
        if isinstance(value, Fields) and node.attr in value.names:
            return value.field(node.attr)
        if node.attr in ("dtype", "device"):
            return Dtype("")
        if node.attr not in fn.ATTRIBUTES:
            hint = " (methods need parentheses)" if node.attr in fn.FUNCTIONS else ""
            if isinstance(value, Fields):
                hint = f" (this result has {', '.join('.' + n for n in value.names)})"
            raise fail(f"attribute '{node.attr}' is not supported{hint}", self.text, node)
        target = fn.ATTRIBUTES[node.attr]
        x = self.as_array(value, node.value, "the object of an attribute")
        result = target(x)
        return _elementwise(result, x) if target.elementwise else result

    # ---- indexing and sequences ------------------------------------------------------
    def _subscript(self, node: ast.Subscript) -> Any:
        value = self.value(node.value)
        if isinstance(value, (tuple, Pieces, Shape)):
            return self._item(value, node)
        x = self.as_array(value, node.value, "an indexed value")
        if constants.is_number(x):
            raise fail("a number cannot be indexed; only arrays can", self.text, node)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        slots: list[sp.Expr] = []
        index = tuple(self._index_item(i, slots) for i in items)
        return o.ArrayIndex.make(x, *slots, index=index)

    def _item(self, value: tuple | Pieces | Shape, node: ast.Subscript) -> Any:
        key = self.value(node.slice) if not isinstance(node.slice, ast.Slice) else None
        if isinstance(value, tuple) and isinstance(node.slice, ast.Slice):
            parts = (
                self._static_int(p) if p is not None else None
                for p in (node.slice.lower, node.slice.upper, node.slice.step)
            )
            return value[slice(*parts)]
        if not isinstance(key, sp.Integer):
            what = "x.shape" if isinstance(value, Shape) else _kind(value)
            raise fail(f"index {what} with an integer literal", self.text, node.slice)
        try:
            return value[int(key)] if isinstance(value, tuple) else value.item(int(key))
        except (IndexError, ValueError) as exc:
            raise fail(f"{_kind(value)}: {exc}", self.text, node.slice) from None

    def _index_item(self, node: ast.AST, slots: list[sp.Expr]) -> Any:
        if isinstance(node, ast.Slice):
            parts = (self._bound(p, slots) if p is not None else None for p in (node.lower, node.upper, node.step))
            return ("slice", *parts)
        value = self.value(node)
        if value is None or value is Ellipsis:
            return "..." if value is Ellipsis else None
        if isinstance(value, sp.Integer):
            return int(value)
        if isinstance(value, tuple):  # x[[0, 2]]: a literal array of indices
            value = fn.FUNCTIONS["tensor"](value)
        if isinstance(value, sp.Expr) and not value.is_Number:
            slots.append(value)
            return o.Slot(len(slots) - 1)
        raise fail(
            "an index must be an integer, a slice, '...', None, or an array of indices or a mask", self.text, node
        )

    def _bound(self, node: ast.AST, slots: list[sp.Expr]) -> Any:
        value = self.value(node)
        if isinstance(value, sp.Integer):
            return int(value)
        if isinstance(value, sp.Expr) and not value.is_Number:  # x[:, :n] with n = x.shape[1] // 2
            slots.append(value)
            return o.Slot(len(slots) - 1)
        raise fail("a slice bound must be an integer", self.text, node)

    def _static_int(self, node: ast.AST, value: Any = None) -> int:
        value = self.value(node) if value is None else value
        if isinstance(value, sp.Integer):
            return int(value)
        raise fail("an index must be an integer literal, a slice, '...' or None", self.text, node)

    def _sequence(self, node: ast.Tuple | ast.List) -> tuple:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            raise fail("'*' inside a list or tuple is not supported", self.text, node)
        return tuple(self.value(e) for e in node.elts)


#: elementwise functions that keep an integer array integer in torch
_KEEPS_INTEGERS = frozenset(
    [
        "abs",
        "absolute",
        "neg",
        "negative",
        "sign",
        "maximum",
        "minimum",
        "clip",
        "clamp",
        "clamp_min",
        "clamp_max",
        "where",
        "square",
        "pow",
        "power",
        "add",
        "sub",
        "subtract",
        "mul",
        "multiply",
        "zeros_like",
        "ones_like",
        "full_like",
        "masked_fill",
    ]
)
_SHAPE_OPS = (
    o.ArrayIndex,
    o.ArrayReshape,
    o.ArrayFlatten,
    o.ArrayExpandDims,
    o.ArraySqueeze,
    o.ArrayTranspose,
    o.ArraySwapaxes,
    o.ArrayBroadcastTo,
    o.ArrayPiece,
    o.ArrayConcatenate,
)
_CONSTRUCTED = (o.ArrayArange, o.ArrayConstant, o.ArrayFull, o.ArrayEye, o.ArrayCast)


def _dtype_of(expr: Any) -> str | None:
    """The dtype of an array FUNC builds from literals (``torch.arange(4)``), else None."""
    if isinstance(expr, _CONSTRUCTED):
        return expr.param("dtype") or "float64"
    if isinstance(expr, _SHAPE_OPS) and expr.arrays:
        return _dtype_of(expr.arrays[0])
    if isinstance(expr, (sp.Add, sp.Mul)):
        kinds = {_dtype_of(a) for a in expr.args if not (a.is_Number or _python_scalar(a))}
        numbers = [a for a in expr.args if a.is_Number or _python_scalar(a)]
        if kinds == {"float32"} or (len(kinds) == 1 and not any(_float_scalar(a) for a in numbers)):
            return kinds.pop()
    if isinstance(expr, sp.Pow) and (expr.exp.is_Number or _python_scalar(expr.exp)):
        base = _dtype_of(expr.base)
        return "float32" if base == "float32" or (base and _float_scalar(expr.exp)) else base
    if isinstance(expr, sp.Function) and not isinstance(expr, o.ArrayOp) and len(expr.args) == 1:
        return "float32" if _dtype_of(expr.args[0]) == "float32" else None
    return None


def _python_scalar(expr: Any) -> bool:
    """A number, or one computed from shapes (``x.shape[-1]``): a Python number in torch."""
    if not isinstance(expr, sp.Expr):
        return False
    return expr.is_number or (
        bool(leaves(expr)) and all(isinstance(a, (o.ArraySize, o.ArrayNdim)) for a in leaves(expr))
    )


def _torch_int(expr: Any) -> bool:
    return str(_dtype_of(expr)).startswith(("int", "uint"))


def _float32(expr: Any) -> bool:
    return _dtype_of(expr) == "float32"


def _float_scalar(expr: Any) -> bool:
    if not _python_scalar(expr) or expr.is_Integer:
        return False
    if expr.is_number:
        return True
    negative = any(p.exp.is_negative for p in expr.atoms(sp.Pow))
    return not isinstance(expr, sp.floor) and (expr.has(sp.Float) or negative)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _kind(value: Any) -> str:
    if isinstance(value, Fields):
        return f"a tuple ({', '.join(value.names)})"
    if isinstance(value, Pieces):
        return f"the pieces of {value.what}"
    if isinstance(value, Shape):
        return "a shape"
    return fn.kind_of(value)


def _construct(node: ast.AST) -> str:
    from jvpcli.lang.parse import construct

    return construct(node)


def _keyword_node(node: ast.AST, keyword: str | None) -> ast.AST:
    """The keyword argument a message is about, so the caret points at it."""
    if keyword and isinstance(node, ast.Call):
        for k in node.keywords:
            if k.arg == keyword:
                return k
    return node


def _close(name: str, candidates: Any) -> str:
    cutoff = 0.6 if len(name) > 3 else 0.75
    matches = difflib.get_close_matches(name, [c for c in candidates if "." not in c], n=3, cutoff=cutoff)
    return f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
