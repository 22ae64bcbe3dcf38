"""Commands' options as data: click's options are built from it, and a plain call is parsed
from it without importing click (~20 ms of a cached call's start-up).

``parse`` follows click's parser for what it accepts: ``--opt VALUE``, ``--opt=VALUE``,
``-oVALUE``, flags, repeated options, positionals anywhere, ``--``. Anything else (``--help``,
an unknown option, a value click would refuse, a missing FUNC) returns None, and click
parses it, so help and every usage error stay click's own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


class Opt:
    """One option. ``kind``: ``flag``, ``many`` (repeatable) or ``one``; ``type``: ``text``,
    ``choice`` (of ``choices``), ``int``, ``count`` (an int >= 1), ``out`` (a path to write:
    a file, or a zarr group's folder) or ``size`` (bytes, ``size``). A plain class: a
    NamedTuple costs ~0.3 ms to define."""

    __slots__ = ("choices", "decls", "default", "dest", "envvar", "help", "kind", "metavar", "show_default", "type")

    def __init__(
        self,
        decls: tuple[str, ...],
        dest: str,
        help: str,
        kind: str = "one",
        type: str = "text",
        choices: tuple[str, ...] = (),
        default: Any = None,
        metavar: str | None = None,
        show_default: bool | None = None,
        envvar: str | None = None,
    ) -> None:
        self.decls, self.dest, self.help, self.kind, self.type = decls, dest, help, kind, type
        self.choices, self.default, self.metavar, self.show_default = choices, default, metavar, show_default
        #: an environment variable that gives the default
        self.envvar = envvar


DTYPES = ("float32", "float64", "complex64", "complex128")
DIALECT = Opt(
    ("--dialect",),
    "dialect",
    "Read the spellings numpy and torch disagree on (x.transpose(0, 1), x.var(), x.max(1)) as this library "
    "does (default: as the text's hints say).",
    type="choice",
    choices=("numpy", "torch"),
)

#: FUNC, SOURCEs and how to read them: every command that evaluates FUNC at a point
POINT = (
    Opt(("-i", "--input"), "named", "Bind an input by name.", kind="many", metavar="NAME=SOURCE"),
    Opt(
        ("-v",),
        "tangents",
        "A tangent, by name or in input order; repeat for each input. "
        "It may be left out when FUNC has one input with one element (then 1).",
        kind="many",
        metavar="[NAME=]SOURCE",
    ),
    Opt(
        ("-c", "--constant"),
        "constants",
        "A constant: used by FUNC, never differentiated.",
        kind="many",
        metavar="NAME=SOURCE",
    ),
    Opt(("--dtype",), "dtype", "Cast every input, tangent and constant.", type="choice", choices=DTYPES),
    Opt(("--seed",), "seed", "Seed of rand/randn SOURCEs.", type="int", default=0, show_default=True),
    Opt(("--threads",), "threads", "Threads for large arrays (default: all cores).", type="count"),
    Opt(("--no-cache",), "no_cache", "Differentiate afresh; neither read nor write the kernel cache.", kind="flag"),
    Opt(
        ("--memory",),
        "memory",
        "Memory budget (1GiB, 512MiB): larger row-wise work streams from disk (default: half the machine).",
        type="size",
        metavar="SIZE",
    ),
    Opt(("--quiet",), "quiet", "No progress bar on stderr.", kind="flag"),
    Opt(
        ("--max-bytes",),
        "max_bytes",
        "The most one array read or made in memory may take (stdin, .npz members, text, generators; "
        "default: --memory, else half the memory jvpcli may use).",
        type="size",
        metavar="SIZE",
    ),
    Opt(
        ("--engine",),
        "engine",
        "Where blocks run: this process, or a dask cluster (default: dask when a scheduler is given).",
        type="choice",
        choices=("local", "dask"),
    ),
    Opt(
        ("--scheduler",),
        "scheduler",
        "A dask scheduler (tcp://HOST:PORT) to run the blocks on; needs jvpcli[dask].",
        metavar="ADDRESS",
        envvar="DASK_SCHEDULER_ADDRESS",
    ),
    DIALECT,
)
#: vjp's -v: cotangents, one per output
COTANGENTS = Opt(
    ("-v",),
    "tangents",
    "A cotangent, one per output in output order (ones/zeros/rand/randn take that output's shape). "
    "It may be left out when FUNC returns a single value with a single element (then 1).",
    kind="many",
    metavar="SOURCE",
)
#: the point of a command that takes no -v (jacobian, hessian)
POINT_ONLY = tuple(opt for opt in POINT if opt.dest != "tangents")
#: the point of vjp: -v gives cotangents
POINT_COTANGENTS = tuple(COTANGENTS if opt.dest == "tangents" else opt for opt in POINT)

JVP = (
    Opt(("--strict",), "strict", "Fail if an input or output takes no part in the derivative.", kind="flag"),
    Opt(
        ("--create-graph",),
        "create_graph",
        "Also report the symbolic output and jvp, in FUNC's language.",
        kind="flag",
    ),
    Opt(
        ("--format",),
        "fmt",
        "Output format (default: table, or from -o's extension).",
        type="choice",
        choices=("table", "json", "npy", "npz"),
    ),
    Opt(("--only",), "only", "Report only these arrays.", type="choice", choices=("output", "jvp")),
    Opt(
        ("-o",),
        "out_path",
        "Write to a file (.json, .npy, .npz) or a zarr group (.zarr) instead of stdout, atomically.",
        type="out",
    ),
    Opt(
        ("--check",),
        "check_too",
        "Also compare the jvp with a finite difference; the verdict goes to stderr.",
        kind="flag",
    ),
    Opt(("--batch",), "batch", "Each tangent carries a leading batch axis: B jvps at once.", kind="flag"),
)

#: the commands ``parse`` takes without click: their options, and the function that runs them
FAST = {"jvp": ((*POINT, *JVP), "jvpcli.cli.run", "jvp")}
#: the group's own options that ``parse`` takes (the others, --help and --version, are click's)
GROUP_FLAGS = {"--traceback": "traceback"}


class Call:
    """A parsed command line: the group's flags, the command, its parameters as click names them."""

    __slots__ = ("command", "group", "params")

    def __init__(self, group: dict[str, bool], command: str, params: dict[str, Any]) -> None:
        self.group, self.command, self.params = group, command, params


def parse(argv: Sequence[str]) -> Call | None:
    """``argv`` as click would parse it, or None for anything click must handle itself."""
    group = dict.fromkeys(GROUP_FLAGS.values(), False)
    args = list(argv)
    while args and args[0] in GROUP_FLAGS:
        group[GROUP_FLAGS[args.pop(0)]] = True
    if not args or args[0] not in FAST:
        return None
    options, _, _ = FAST[args[0]]
    params = _parse_command(args[1:], options)
    return None if params is None else Call(group, args[0], params)


def _parse_command(args: list[str], options: Sequence[Opt]) -> dict[str, Any] | None:
    by_decl = {decl: opt for opt in options for decl in opt.decls}
    values: dict[str, Any] = {opt.dest: [] if opt.kind == "many" else _default(opt) for opt in options}
    values.update((opt.dest, False) for opt in options if opt.kind == "flag")
    positional: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "--":
            positional += args
            break
        if arg[:1] != "-" or len(arg) == 1:
            positional.append(arg)
            continue
        name, eq, attached = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        opt = by_decl.get(name)
        if opt is None or (opt.kind == "flag" and (eq or attached)):
            return None
        if opt.kind == "flag":
            values[opt.dest] = True
            continue
        if eq or attached:
            value = attached
        elif args:
            value = args.pop(0)
        else:
            return None
        converted = _convert(opt, value)
        if converted is None:
            return None
        if opt.kind == "many":
            values[opt.dest].append(converted)
        else:
            values[opt.dest] = converted
    if not positional:
        return None
    values.update((opt.dest, tuple(values[opt.dest])) for opt in options if opt.kind == "many")
    return {"func": positional[0], "sources": tuple(positional[1:]), **values}


def _default(opt: Opt) -> Any:
    """The default, from the option's environment variable when it is set (as click does)."""
    value = os.environ.get(opt.envvar) if opt.envvar else None
    return value or opt.default


def _convert(opt: Opt, value: str) -> Any:
    """The value click's type gives, or None where click would refuse it (and say why)."""
    if opt.type == "choice":
        return value if value in opt.choices else None
    if opt.type in ("int", "count"):
        try:
            number = int(value)
        except ValueError:
            return None
        return None if opt.type == "count" and number < 1 else number
    if opt.type == "size":
        return size(value)
    if opt.type == "out":  # click.Path(): an existing path (a file or a zarr group's folder) must be readable
        return value if not os.path.exists(value) or os.access(value, os.R_OK) else None
    return value


def size(text: str) -> int | None:
    """Bytes from ``1GiB``, ``512MiB``, ``2G``, ``1.5k`` or ``4096``; None if it is no positive size."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if m is None or float(m.group(1)) <= 0:
        return None
    return int(float(m.group(1)) * (1 << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m.group(2)]))
