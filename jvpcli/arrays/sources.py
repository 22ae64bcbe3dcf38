"""SOURCE text -> numpy array: files, standard input, literals and generators.

Data files are read with ``allow_pickle=False``; a ``.npy`` header is checked against
the bytes that follow it before numpy allocates anything.
"""

from __future__ import annotations

import ast
import io
import math
import os
import stat
import warnings
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from jvpcli.arrays import limits, npy
from jvpcli.arrays.rows import ArrayRows, Generated, NpyRows, Rows, skip
from jvpcli.errors import MissingDependencyError, SourceError, UsageError

#: .npy files (and uncompressed .npz members) from this size are mapped, not read
MMAP_BYTES = NpyRows.MAP_FROM
LIKE_GENERATORS = frozenset({"ones", "zeros", "rand", "randn"})
_TEXT_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}


class SourceReader:
    """Reads SOURCEs in turn: one random generator and one standard-input buffer per command."""

    def __init__(self, stdin: BinaryIO | None = None, seed: int = 0, max_bytes: int | None = None) -> None:
        self.stdin, self.seed = stdin, seed
        self.max_bytes = limits.default_max_bytes() if max_bytes is None else max_bytes
        self._stdin_count = 0
        #: the seed's generator, where the next ``rand`` or ``randn`` SOURCE starts
        self._bits: np.random.PCG64 | None = None
        #: a ``randn`` SOURCE made after the generator's state: its numbers are drawn past
        #: only when another random SOURCE follows it
        self._owed = 0

    def read(self, text: str, like: Rows | np.ndarray | None = None) -> np.ndarray:
        """The array SOURCE ``text`` names, whole."""
        return self.whole(self.open(text, like))

    def whole(self, rows: Rows) -> np.ndarray:
        """``rows`` in memory: what is made or cast for it here must fit in ``max_bytes`` (a file's
        rows are read or mapped, and what is in memory already was checked as it was read)."""
        if not isinstance(rows, (ArrayRows, NpyRows)):
            _check_size(rows.nbytes, self.max_bytes, repr(rows), "would take")
        return rows.whole()

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
            return ArrayRows(_read_npz(path + ".npz", key, self.max_bytes))
        suffix = os.path.splitext(text)[1].lower()
        if suffix == ".npy":
            return open_npy(text)
        if suffix == ".npz":
            return ArrayRows(_read_npz(text, None, self.max_bytes))
        if suffix in _TEXT_DELIMITERS:
            return ArrayRows(_read_text(text, _TEXT_DELIMITERS[suffix], self.max_bytes))
        return self._literal(text)

    def finish(self) -> None:
        """Every SOURCE is read: standard input, when '-' read from it, must hold nothing more."""
        if self._stdin_count and self.stdin is not None and self.stdin.read(1):
            raise UsageError(
                f"standard input holds more than the {self._stdin_count} array(s) that '-' asks for: "
                "give one '-' per array"
            )

    # ---- standard input ----------------------------------------------------------
    def _next_stdin(self) -> np.ndarray:
        """The next record, read straight from the stream: never more than it declares, within the limit."""
        self._stdin_count += 1
        where = f"standard input (array {self._stdin_count})"
        stream: Any = self.stdin
        if stream is None:
            raise SourceError("there is no standard input, but '-' asks for an array from it")
        first = _read_exact(stream, 1)
        if not first:
            if self._stdin_count == 1:
                raise SourceError("standard input is empty, but '-' asks for an array from it")
            raise SourceError(f"standard input holds fewer arrays than the {self._stdin_count} that '-' asks for")
        pending = [first]

        def read(n: int) -> bytes:
            head = pending.pop() if pending else b""
            return head + _read_exact(stream, n - len(head))

        header = npy.read_header(read, where)
        _check_size(header.nbytes, self.max_bytes, where)
        return npy.read_into(stream.readinto, header, where)

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
            _check_size(8 * _count(name, args), self.max_bytes, f"{name}{_shown(args)}", "would take")
            return ArrayRows(_GENERATORS[name](*args))
        except (TypeError, ValueError, MemoryError) as exc:
            raise SourceError(f"cannot make {name}{tuple(args)!r}: {exc}") from None

    def _made(self, name: str, shape: tuple[int, ...]) -> Generated:
        """``ones``/``zeros``/``rand``/``randn``: made when read, ``rand`` and ``randn`` taking
        the next numbers of ``default_rng(seed)`` in turn (see ``arrays.rows``)."""
        if name not in ("rand", "randn"):
            return Generated(name, shape)
        if self._bits is None:
            self._bits = np.random.PCG64(self.seed)  # a seed numpy refuses fails here, before anything is read
        skip(self._bits, self._owed)
        made = Generated(name, shape, self._bits.state)
        if name == "rand":
            self._bits.advance(made.size)
            self._owed = 0
        else:
            self._owed = made.size
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


def _count(name: str, args: tuple) -> int:
    """How many numbers a generator makes, before it makes them (a bad argument counts as none)."""
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)]
    if not numbers or len(numbers) != len(args):
        return 0
    if name in ("ones", "zeros", "rand", "randn"):
        return math.prod(abs(int(a)) for a in numbers)
    if name == "linspace":
        return abs(int(numbers[2])) if len(numbers) > 2 else 50
    if name == "eye":
        return abs(int(numbers[0])) * abs(int(numbers[-1]))
    start, stop, step = (0, *numbers, 1)[-3:] if len(numbers) == 1 else (*numbers, 1)[:3]
    return max(0, math.ceil((stop - start) / step)) if step else 0


def _shown(args: tuple) -> str:
    return "(" + ", ".join(map(str, args))[:60] + ")"


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    """``n`` bytes, or fewer at the end of the stream (a pipe returns what it has)."""
    parts, left = [], n
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


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
def _open(path: str) -> io.BufferedReader:
    """A regular file, opened without blocking: a FIFO or a device named like a data file is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SourceError(f"cannot read '{path}': {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError(f"cannot read '{path}': not a regular file (give '-' to read a stream)")
    return os.fdopen(fd, "rb")


def _check_size(nbytes: int, limit: int, where: str, what: str = "holds") -> None:
    if nbytes > limit:
        raise SourceError(
            f"{where} {what} {limits.describe(nbytes)}, more than the limit of {limits.describe(limit)} (--max-bytes)"
        )


def open_npy(path: str) -> NpyRows:
    """A ``.npy`` file as rows: only its header is read here, by jvpcli's own parser, and checked
    against the file's size (rows are read, or the whole file mapped, when asked for). A URL
    (``s3://...``, ``memory://...``) is opened through fsspec, and its rows read at their
    offsets, block by block."""
    if "://" in path:
        return _open_npy_url(path)
    where = f"'{path}'"
    with _open(path) as fp:
        header = npy.read_header(fp.read, where)
        _check_follows(header, os.fstat(fp.fileno()).st_size - header.offset, where)
        return NpyRows(path, header.offset, header.shape, header.dtype, header.fortran)


#: the package behind each fsspec URL (and jvpcli's extra that brings fsspec itself)
URL_INSTALL = "pip install 'jvpcli[dask]'"


def _open_npy_url(url: str) -> NpyRows:
    where = f"'{url}'"
    try:
        import fsspec.core
    except ImportError:
        raise MissingDependencyError(f"{where}: URLs are read through fsspec: {URL_INSTALL}") from None
    protocol = url.split("://", 1)[0]
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec knows the protocol, its package is missing: "Install s3fs to access S3"
        raise MissingDependencyError(f"{where}: the {protocol}:// filesystem needs a package: {exc}") from None
    except ValueError as exc:
        raise SourceError(f"cannot read {where}: {exc}") from None
    try:
        with fs.open(path, "rb") as fp:
            header = npy.read_header(fp.read, where)
        size = fs.size(path)
    except (OSError, ValueError) as exc:  # FileNotFoundError, a refused connection, a bad bucket name
        raise SourceError(f"cannot read {where}: {exc}") from None
    _check_follows(header, size - header.offset, where)
    if header.fortran and len(header.shape) > 1:
        raise SourceError(f"{where} is in Fortran order: its rows are not contiguous; read it from a local file")
    return NpyRows(url, header.offset, header.shape, header.dtype, header.fortran)


def _check_follows(header: npy.Header, have: int, where: str) -> None:
    if header.nbytes > have:
        raise SourceError(
            f"{where} is truncated: its header says shape {header.shape} {header.dtype} "
            f"({header.nbytes} bytes), but only {max(have, 0)} bytes follow"
        )


def _read_npz(path: str, key: str | None, max_bytes: int) -> np.ndarray:
    import zipfile  # here, not at start-up: most calls read no archive

    with _open(path) as fp:
        try:
            with zipfile.ZipFile(fp) as archive:
                return _read_member(archive, fp, path, key, max_bytes)
        except SourceError:
            raise
        except Exception as exc:  # zipfile, zlib, bz2, lzma on untrusted bytes: any failure is a bad archive
            raise SourceError(f"'{path}' is not a valid .npz archive: {exc}") from None


def _read_member(archive: Any, fp: io.BufferedReader, path: str, key: str | None, max_bytes: int) -> np.ndarray:
    import zipfile

    names = {n[:-4]: n for n in archive.namelist() if n.endswith(".npy")}
    if key is None:
        if len(names) != 1:
            shown = ", ".join(sorted(names)[:20]) + (", ..." if len(names) > 20 else "")
            raise SourceError(f"'{path}' holds {len(names)} arrays ({shown}); name one as {path}:KEY")
        key = next(iter(names))
    if key not in names:
        raise SourceError(f"'{path}' has no array '{key}'; it holds {', '.join(sorted(names)[:20])}")
    info, where = archive.getinfo(names[key]), f"'{path}:{key}'"
    stored = info.compress_type == zipfile.ZIP_STORED
    if stored and info.file_size >= MMAP_BYTES:
        return _map_stored(fp, info, where)
    _check_size(info.file_size, max_bytes, where, "inflates to")
    if not stored and info.file_size > max(limits.RATIO_GRACE, limits.MAX_RATIO * info.compress_size):
        raise SourceError(
            f"{where} inflates to {limits.describe(info.file_size)} from {limits.describe(info.compress_size)}, "
            f"more than {limits.MAX_RATIO} times: refused as a likely zip bomb (numpy.savez, uncompressed, "
            "is read without inflating)"
        )
    with archive.open(info) as member:  # zipfile stops at the declared size and checks the CRC
        header = npy.read_header(member.read, where)
        _check_follows(header, info.file_size - header.offset, where)
        array = npy.read_into(member.readinto, header, where)
        member.read(1)  # the end of the member: zipfile checks its CRC there
        return array


def _map_stored(fp: io.BufferedReader, info: Any, where: str) -> np.ndarray:
    """An uncompressed member is a .npy record inside the archive: map it in place."""
    fp.seek(info.header_offset)
    local = fp.read(30)  # zipfile's local file header: names and extra fields follow it
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise SourceError(f"{where}: the archive's local header is damaged")
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    fp.seek(start)
    header = npy.read_header(fp.read, where)
    _check_follows(header, min(info.file_size, os.fstat(fp.fileno()).st_size - start) - header.offset, where)
    return np.memmap(fp, header.dtype, "r", start + header.offset, header.shape, header.order)  # type: ignore[call-overload]


def _read_text(path: str, delimiter: str | None, max_bytes: int) -> np.ndarray:
    with _open(path) as fp:
        _check_size(os.fstat(fp.fileno()).st_size * limits.TEXT_EXPANSION, max_bytes, f"'{path}'", "may hold")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.loadtxt(path, delimiter=delimiter, dtype=np.float64)
        except (ValueError, UserWarning, UnicodeError, IndexError, TypeError, OverflowError) as exc:
            raise SourceError(f"cannot read '{path}': {exc}") from None
