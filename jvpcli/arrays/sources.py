"""SOURCE text -> numpy array: files, standard input, literals and generators.

Data files are read with ``allow_pickle=False``; a ``.npy`` header is checked against
the bytes that follow it before numpy allocates anything.
"""

from __future__ import annotations

import ast
import io
import math
import os
import warnings
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from jvpcli.arrays.rows import ArrayRows, Generated, NpyRows, Rows
from jvpcli.errors import SourceError, UsageError

LIKE_GENERATORS = frozenset({"ones", "zeros", "rand", "randn"})
_TEXT_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}


class SourceReader:
    """Reads SOURCEs in turn: one random generator and one standard-input buffer per command."""

    def __init__(self, stdin: BinaryIO | None = None, seed: int = 0) -> None:
        self.stdin, self.seed = stdin, seed
        self._buffer: io.BytesIO | None = None
        self._stdin_count = 0
        #: where the next ``rand`` starts in the seed's stream, and the next ``randn`` page
        self._drawn = self._pages = 0

    def read(self, text: str, like: Rows | np.ndarray | None = None) -> np.ndarray:
        """The array SOURCE ``text`` names, whole."""
        return self.open(text, like).whole()

    def open(self, text: str, like: Rows | np.ndarray | None = None) -> Rows:
        """SOURCE ``text`` as rows: a ``.npy`` file or a generator is read or made only when
        its rows are asked for; ``like`` gives a shapeless generator its shape and dtype."""
        if text == "-":
            return ArrayRows(self._next_stdin())
        if text in LIKE_GENERATORS:
            if like is None:
                raise UsageError(f"'{text}' without a shape is only for -v (a tangent like its input)")
            return self._generate(text, like.shape).astype(like.dtype)
        path, _, key = text.partition(".npz:")
        if key:
            return ArrayRows(_read_npz(path + ".npz", key))
        suffix = os.path.splitext(text)[1].lower()
        if suffix == ".npy":
            return open_npy(text)
        if suffix == ".npz":
            return ArrayRows(_read_npz(text, None))
        if suffix in _TEXT_DELIMITERS:
            return ArrayRows(_read_text(text, _TEXT_DELIMITERS[suffix]))
        return self._literal(text)

    # ---- standard input ----------------------------------------------------------
    def _next_stdin(self) -> np.ndarray:
        if self._buffer is None:
            data = self.stdin.read() if self.stdin is not None else b""
            if not data:
                raise SourceError("standard input is empty, but '-' asks for an array from it")
            self._buffer = io.BytesIO(data)
        self._stdin_count += 1
        remaining = len(self._buffer.getbuffer()) - self._buffer.tell()
        if remaining == 0:
            raise SourceError(f"standard input holds fewer arrays than the {self._stdin_count} that '-' asks for")
        return _read_npy(self._buffer, remaining, f"standard input (array {self._stdin_count})")

    # ---- literals and generators ---------------------------------------------------
    def _literal(self, text: str) -> Rows:
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id in _NAMES:
            args = [_number(a, text) for a in tree.args]
            if tree.keywords:
                raise SourceError(f"'{text}': generators take positional arguments only")
            return self._generate(tree.func.id, *args)
        if tree is None or not _is_literal(tree):
            raise SourceError(
                f"cannot read SOURCE '{text}': no such .npy/.npz/.csv/.tsv/.txt file, and not a literal "
                "like 1.5 or [1, 2] or a generator like ones(3)"
            )
        try:
            return ArrayRows(np.array(_number(tree, text)))
        except ValueError as exc:  # ragged nesting: [[1, 2], [3]]
            raise SourceError(f"cannot read literal '{text}': {exc}") from None

    def _generate(self, name: str, *args: object) -> Rows:
        if len(args) == 1 and isinstance(args[0], (tuple, list)):
            args = tuple(args[0])
        try:
            if name in LIKE_GENERATORS:
                return self._made(name, _shape(*args))
            return ArrayRows(_GENERATORS[name](*args))
        except (TypeError, ValueError, MemoryError) as exc:
            raise SourceError(f"cannot make {name}{tuple(args)!r}: {exc}") from None

    def _made(self, name: str, shape: tuple[int, ...]) -> Generated:
        """``ones``/``zeros``/``rand``/``randn``: made when read, ``rand`` and ``randn`` each
        taking the next numbers of their stream (see ``arrays.rows``)."""
        if name in ("rand", "randn"):
            np.random.PCG64(self.seed)  # a seed numpy refuses fails here, before anything is read
        made = Generated(name, shape, self.seed, self._drawn if name == "rand" else self._pages)
        if name == "rand":
            self._drawn += made.size
        elif name == "randn":
            self._pages += made.pages
        return made


def _shape(*dims: object) -> tuple[int, ...]:
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise ValueError("a shape takes non-negative whole numbers")
    return tuple(dims)  # type: ignore[arg-type]


#: generators other than ``LIKE_GENERATORS``, which ``arrays.rows.Generated`` makes
_GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "arange": lambda *a: np.arange(*a, dtype=np.float64),
    "linspace": lambda start, stop, num=50: np.linspace(start, stop, int(num)),
    "eye": lambda n, m=None: np.eye(int(n), None if m is None else int(m)),
}
_NAMES = frozenset({*_GENERATORS, *LIKE_GENERATORS})


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Name):
        return node.id in ("nan", "inf")
    return isinstance(node, (ast.Constant, ast.UnaryOp, ast.BinOp))


def _number(node: ast.AST, text: str) -> object:
    """A number, or nested lists of numbers, read from a literal's AST (never evaluated)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_number(e, text) for e in node.elts]
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float, complex))
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("nan", "inf"):
        return math.nan if node.id == "nan" else math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand, text)
        if isinstance(value, (int, float, complex)):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):  # 1+2j
        a, b = _number(node.left, text), _number(node.right, text)
        if isinstance(a, (int, float)) and isinstance(b, complex):
            return a + b if isinstance(node.op, ast.Add) else a - b
    raise SourceError(f"cannot read literal '{text}': only numbers and nested lists of numbers")


# ---- files -------------------------------------------------------------------------
def _read_npy(fp: BinaryIO, available: int, where: str) -> np.ndarray:
    """One .npy record from ``fp``, refused if its header promises more than ``available`` bytes."""
    start = fp.tell()
    _npy_header(fp, available, where)
    fp.seek(start)
    try:
        return np.load(fp, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise SourceError(f"cannot read {where}: {exc}") from None


def _npy_header(fp: BinaryIO, available: int, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, order and dtype of the .npy record at ``fp``, checked against the
    ``available`` bytes; ``fp`` is left at the record's data."""
    start = fp.tell()
    try:
        version = np.lib.format.read_magic(fp)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(fp)
    except (ValueError, OSError, EOFError) as exc:
        raise SourceError(f"{where} is not a valid .npy array: {exc}") from None
    if dtype.hasobject:
        raise SourceError(f"{where} holds Python objects (pickled data), which jvpcli does not load")
    need = math.prod(shape) * dtype.itemsize
    have = available - (fp.tell() - start)
    if need > have:
        raise SourceError(
            f"{where} is truncated: its header says shape {shape} {dtype} ({need} bytes), but only {have} bytes follow"
        )
    return shape, fortran, dtype


def _open(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise SourceError(f"cannot read '{path}': {exc.strerror}") from None


def open_npy(path: str) -> NpyRows:
    """A ``.npy`` file as rows: only its header is read here, and checked."""
    with _open(path) as fp:
        shape, fortran, dtype = _npy_header(fp, os.fstat(fp.fileno()).st_size, f"'{path}'")
        return NpyRows(path, fp.tell(), shape, dtype, fortran)


def _read_npz(path: str, key: str | None) -> np.ndarray:
    import zipfile  # here, not at start-up: most calls read no archive

    _open(path).close()
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n[:-4]: n for n in archive.namelist() if n.endswith(".npy")}
            if key is None:
                if len(names) != 1:
                    raise SourceError(
                        f"'{path}' holds {len(names)} arrays ({', '.join(sorted(names))}); name one as {path}:KEY"
                    )
                key = next(iter(names))
            if key not in names:
                raise SourceError(f"'{path}' has no array '{key}'; it holds {', '.join(sorted(names))}")
            info = archive.getinfo(names[key])
            with archive.open(info) as member:
                data = io.BytesIO(member.read(info.file_size))
            return _read_npy(data, info.file_size, f"'{path}:{key}'")
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"'{path}' is not a valid .npz archive: {exc}") from None


def _read_text(path: str, delimiter: str | None) -> np.ndarray:
    _open(path).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.loadtxt(path, delimiter=delimiter, dtype=np.float64)
        except (ValueError, UserWarning) as exc:
            raise SourceError(f"cannot read '{path}': {exc}") from None
