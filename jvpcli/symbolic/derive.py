"""Expression -> derivative: forward mode over the expression graph, rules from ``rules``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from jvpcli.errors import JvpcliError
from jvpcli.symbolic.rules import RULES, Entry, Rule
from jvpcli.symbolic.shapes import shaped_like


class NoRuleError(JvpcliError):
    """An expression node no rule covers: a gap in the table, never the user's fault."""


def entry_for(node: sp.Basic) -> Entry:
    """The table's entry for ``node``'s operation, as a record."""
    for cls in type(node).__mro__:
        if cls in RULES:
            found = RULES[cls]
            return found if isinstance(found, Entry) else Entry(found)  # a bare JVP rule
    raise NoRuleError(f"jvpcli has no derivative rule for {type(node).__name__}")


def rule_for(node: sp.Basic) -> Rule:
    return entry_for(node).jvp


def jvp(outputs: Sequence[sp.Expr], tangents: Mapping[sp.Symbol, sp.Symbol]) -> list[sp.Expr]:
    """Tangents of ``outputs`` when each input symbol moves along its tangent symbol.

    Iterative and memoised: a shared subexpression is differentiated once, and a
    deep expression (a long ``def``) cannot hit Python's recursion limit.
    """
    renamed = {t: p for p, t in tangents.items()}
    wanted = frozenset(tangents)
    memo: dict[sp.Basic, sp.Expr] = dict(tangents)
    moves: dict[sp.Basic, bool] = {}  # does the node depend on an input? (free_symbols walks the tree)

    def shaped(t: sp.Expr, like: sp.Expr) -> sp.Expr:
        return shaped_like(t, like, renamed)

    for symbol in wanted:
        moves[symbol] = True
    for out in outputs:
        stack: list[tuple[sp.Basic, bool]] = [(out, False)]
        while stack:
            node, ready = stack.pop()
            if node in memo:
                continue
            if not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
                continue
            moves[node] = node in wanted or any(moves.get(a, False) for a in node.args)
            if not moves[node]:
                memo[node] = sp.S.Zero
            else:
                memo[node] = rule_for(node)(node, [memo[a] for a in node.args], shaped)
    return [memo[out] for out in outputs]
