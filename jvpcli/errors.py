"""Domain errors: the library raises these, the CLI turns them into one line and an exit status."""

from __future__ import annotations

import re

USAGE = 2
COMPUTE = 1
#: user text longer than this (a name, a SOURCE) is cut where a message quotes it
MAX_QUOTED = 100
MAX_MESSAGE = 2000
_LONG = re.compile(rf"[^\s'\"]{{{MAX_QUOTED + 1},}}")


def cut(message: str) -> str:
    """``message`` with each overlong word (a 60,000-character name) and the whole cut short."""
    message = _LONG.sub(lambda m: f"{m[0][:60]}...[{len(m[0])} characters]", message)
    if len(message) > MAX_MESSAGE:
        message = f"{message[: MAX_MESSAGE - 200]}...[{len(message)} characters]...{message[-150:]}"
    return message


class JvpcliError(Exception):
    """Base of every expected failure; ``exit_code`` is the documented exit status."""

    exit_code = COMPUTE

    def __init__(self, message: str) -> None:
        message = cut(message)
        super().__init__(message)
        self.message = message

    def render(self) -> str:
        return self.message


class ParseError(JvpcliError):
    """FUNC text that is not valid or not allowed; keeps the text so a caret can point at it."""

    exit_code = USAGE

    def __init__(self, message: str, text: str = "", lineno: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.text, self.lineno, self.col = text, lineno, col

    def render(self) -> str:
        return pointed(self.message, self.text, self.lineno, self.col)


def pointed(message: str, text: str, lineno: int, col: int) -> str:
    """``message``, then the line of ``text`` it is about with a caret under column ``col``."""
    lines = text.splitlines()
    if not (lineno and 0 < lineno <= len(lines)):
        return message
    line = lines[lineno - 1]
    if len(line) > 80:  # a window around the column, so the caret stays on screen
        start = max(0, min(col - 40, len(line) - 80))
        line, col = line[start : start + 80], col - start
    return f"{message}\n  {line}\n  {' ' * col}^"


class UsageError(JvpcliError):
    """The command line does not fit the function (missing input, unknown name, bad option)."""

    exit_code = USAGE


class SourceError(JvpcliError):
    """A SOURCE that cannot be read: missing file, bad format, pickled data, empty stdin."""

    exit_code = USAGE


class OutputError(JvpcliError):
    """A file jvpcli was asked to write cannot be written (missing folder, no permission)."""

    exit_code = USAGE


class MissingDependencyError(JvpcliError):
    """An optional package is needed for what was asked."""

    exit_code = USAGE


class ShapeError(JvpcliError):
    """Arrays whose shapes do not fit (a tangent unlike its input, a broadcast that fails)."""


class StrictError(JvpcliError):
    """``strict=True`` and an input or output takes no part in the derivative."""


class JvpcliWarning(UserWarning):
    """Base of what jvpcli reports without failing; the CLI shows each as one line."""


class DialectNote(JvpcliWarning):
    """A spelling numpy and torch read differently, read as numpy's for want of a hint."""


class NonFiniteWarning(JvpcliWarning, RuntimeWarning):
    """A result holds NaN or infinity (``log(0)``): reported, not an error."""


class CacheWarning(JvpcliWarning):
    """The kernel cache folder is not private to the user, so it is not used."""


class CheckFailed(JvpcliError):
    """``check``: the symbolic jvp and the finite difference disagree beyond the tolerance."""


class ComputeError(JvpcliError):
    """numpy refused to evaluate the kernel (singular matrix, bad index, ...)."""
