"""Standard streams that may be closed, full or cut off, and one status for each case.

* A closed pipe (the reader left: ``jvpcli ... | head -c 10``), before or after the
  first write: exit 1, quietly, as click does; nothing more is written.
* Standard output that cannot take the data (``> /dev/full``, a closed ``>&-``): one
  message on stderr and exit 2, the status of any output jvpcli cannot write.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from jvpcli.errors import JvpcliError, OutputError

PIPE_CLOSED = 1
OUTPUT_FAILED = OutputError.exit_code


class PipeClosed(JvpcliError):
    """The reader of standard output has gone: end quietly."""

    exit_code = PIPE_CLOSED


class _Closed(io.RawIOBase):
    """Standard output that was closed before jvpcli started: every write fails."""

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def guard() -> None:
    """Closed standard descriptors are held by /dev/null, so files jvpcli opens never take
    their numbers; a closed stdout refuses writes instead of losing them."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if name == "stdout":
            sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Closed()), write_through=True)
        elif name == "stderr":
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process


@contextmanager
def writing() -> Iterator[None]:
    """Writes to stdout: a closed pipe is ``PipeClosed``, any other failure an ``OutputError``."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise PipeClosed("") from None
    except OSError as exc:
        silence_stdout()  # the rest of the buffer would fail again at exit
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


def run(main: Callable[[], object]) -> None:
    """The console script's ``main``, then what is still buffered, with the statuses above also
    for what click writes itself (--help, usage errors) outside jvpcli's own error boundary."""
    guard()
    code: str | int | None = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    except OSError as exc:  # click writing help or a usage message to a full or closed stdout
        code = _failed(PipeClosed("") if exc.errno == errno.EPIPE else OutputError(str(exc.strerror or exc)))
    try:
        with writing():
            pass
    except (PipeClosed, OutputError) as exc:
        code = _failed(exc)
    sys.exit(code)


def _failed(exc: JvpcliError) -> int:
    silence_stdout()
    if not isinstance(exc, PipeClosed):
        message = exc.message if exc.message.startswith("cannot") else f"cannot write to standard output: {exc}"
        print(f"jvpcli: error: {message}", file=sys.stderr)
    return exc.exit_code


def silence_stdout() -> None:
    """After a failed write: what is still buffered goes nowhere, so exit does not fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
