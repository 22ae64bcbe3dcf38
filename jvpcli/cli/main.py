"""The console script, and the one error boundary every command runs inside.

A plain ``jvpcli jvp ...`` line is parsed by ``spec.parse`` and run here without importing
click: click's import is ~20 ms, a fifth of a cached call. Every other line (``--help``,
``--version``, other commands, anything ``spec.parse`` declines, shell completion) goes to
click's group in ``commands``; what each path prints and its exit status are the same.
"""

from __future__ import annotations

import errno
import os
import sys
import warnings
from collections.abc import Callable
from importlib import import_module
from typing import Any

from jvpcli.cli import spec, streams
from jvpcli.errors import DialectNote, JvpcliError, JvpcliWarning, cut

#: the status of an unexpected failure (a bug): a failure while computing
INTERNAL = 1

#: click's shell-completion switch for ``prog_name="jvpcli"``: such a call is click's
COMPLETION = "_JVPCLI_COMPLETE"


def guarded(call: Callable[[], Any], traceback: bool, leave: Callable[[int], Any]) -> Any:
    """Run a command: its warnings as jvpcli lines after it, a domain error as one message and
    ``leave(exit status)``; ``traceback`` re-raises instead (for bug reports).

    Nothing ends in a traceback: a closed pipe is a quiet status 1, a stream the system refuses
    one message and status 2, and an unexpected exception (a bug) one ``internal error`` line
    and status 1.
    """
    caught: list[warnings.WarningMessage] = []
    try:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", JvpcliWarning)
                result = call()
            with streams.writing():  # what is still buffered: a full disk shows here
                return result
        finally:  # outside the recording: a warning shown inside it is recorded again, forever
            shown = dict.fromkeys((w.category, str(w.message)) for w in caught)  # check runs FUNC thrice
            for category, message in shown:
                kind = "note" if issubclass(category, DialectNote) else "warning"
                _say(f"jvpcli: {kind}: {message}")
    except (streams.PipeClosed, BrokenPipeError):  # the reader has gone: quietly, one status
        streams.silence_stdout()
        return leave(streams.PIPE_CLOSED)
    except JvpcliError as exc:  # a domain error: one message on stderr, the documented exit status
        if traceback:
            raise
        _say(f"jvpcli: error: {exc.render()}")
        return leave(exc.exit_code)
    except OSError as exc:  # the system refused (a write to a full or closed stream)
        if traceback:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        _say(f"jvpcli: error: {exc.strerror or exc}{cut(where)}")
        return leave(streams.OUTPUT_FAILED)
    except Exception as exc:  # a bug: still one line, never a traceback
        if traceback or type(exc).__module__.startswith("click"):  # click's own exits pass through
            raise
        _say(f"jvpcli: internal error: {type(exc).__name__}: {cut(str(exc))} (a bug in jvpcli: rerun with --traceback)")
        return leave(INTERNAL)


def _say(line: str) -> None:
    import click  # only when there is something to say: click.echo's handling of streams and colour

    click.echo(line, err=True)


def main() -> None:
    streams.run(_main)


def _main() -> None:
    call = None if os.environ.get(COMPLETION) else spec.parse(sys.argv[1:])
    if call is None:
        from jvpcli.cli.commands import main as click_main

        click_main()
    else:
        _run(call)


def _run(call: spec.Call) -> None:
    """What click's ``main`` does around a command, for the lines ``spec.parse`` took."""
    from jvpcli.cli.run import bundle

    _, module, name = spec.FAST[call.command]
    command = getattr(import_module(module), name)
    try:
        request, rest = bundle(call.params)
        guarded(lambda: command(request, **rest), call.group["traceback"], sys.exit)
    except (EOFError, KeyboardInterrupt):
        import click

        click.echo(file=sys.stderr)  # closes the terminal's ^C echo
        click.echo("Aborted!", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # a closed pipe: quiet, status 1, as click does
        if exc.errno != errno.EPIPE:
            raise
        from click.utils import _PacifyFlushWrapper

        sys.stdout = _PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = _PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        sys.exit(1)
