"""The ``.npy`` format, read by jvpcli itself: a strict, bounded header parser, then the data.

numpy's own reader hands the header to Python's tokenizer and evaluator and lets their
errors through (an unterminated dict is a ``TokenError``, ``'shape': (True,)`` a
``TypeError``). Here the header is at most ``MAX_HEADER`` bytes, a dict of exactly the
three keys numpy writes, a numeric dtype and a shape of whole numbers; nothing else is
accepted, and numpy sees only a dtype, a shape and bytes.
"""

from __future__ import annotations

import ast
import math
import struct
from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np

from jvpcli.errors import SourceError

MAGIC = b"\x93NUMPY"
#: numpy's own default limit on header length (``max_header_size``)
MAX_HEADER = 10_000
#: numpy arrays have at most 64 axes
MAX_DIMS = 64
#: bytes asked of a stream at a time: an inflating archive member never holds more in flight
CHUNK = 2**20
_LENGTH = {1: "<H", 2: "<I", 3: "<I"}
_KEYS = {"descr", "fortran_order", "shape"}


class Header(NamedTuple):
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool
    #: bytes from the start of the record to its data
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def order(self) -> Literal["C", "F"]:
        return "F" if self.fortran else "C"


def read_header(read: Callable[[int], bytes], where: str) -> Header:
    """The header of one record; ``read(n)`` returns up to ``n`` bytes of it."""
    magic = read(8)
    if len(magic) < 8 or not magic.startswith(MAGIC):
        raise SourceError(f"{where} is not a .npy array (it does not start with numpy's magic bytes)")
    major = magic[6]
    if major not in _LENGTH or magic[7] != 0:
        raise SourceError(f"{where} is a .npy array of format version {major}.{magic[7]}, which jvpcli does not read")
    size = struct.calcsize(_LENGTH[major])
    raw = read(size)
    if len(raw) < size:
        raise SourceError(f"{where} is truncated inside its .npy header")
    (length,) = struct.unpack(_LENGTH[major], raw)
    if length > MAX_HEADER:
        raise SourceError(f"{where} has a .npy header of {length} bytes; the limit is {MAX_HEADER}")
    text = read(length)
    if len(text) < length:
        raise SourceError(f"{where} is truncated inside its .npy header")
    try:
        decoded = text.decode("utf-8" if major == 3 else "latin-1")
    except UnicodeDecodeError:
        raise SourceError(f"{where} has a .npy header that is not valid text") from None
    dtype, shape, fortran = _fields(decoded, where)
    return Header(dtype, shape, fortran, 8 + size + length)


def _fields(text: str, where: str) -> tuple[np.dtype, tuple[int, ...], bool]:
    bad = SourceError(
        f"{where} has a malformed .npy header: expected {{'descr': ..., 'fortran_order': ..., 'shape': (...)}}"
    )
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise bad from None
    if not isinstance(node, ast.Dict) or not all(isinstance(k, ast.Constant) for k in node.keys):
        raise bad
    fields = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
    if set(fields) != _KEYS or len(node.keys) != len(_KEYS):
        raise bad
    descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
    if not (isinstance(fortran, ast.Constant) and isinstance(fortran.value, bool)):
        raise bad
    if not isinstance(shape, ast.Tuple) or len(shape.elts) > MAX_DIMS:
        raise bad
    dims = [d.value for d in shape.elts if isinstance(d, ast.Constant) and type(d.value) is int and d.value >= 0]
    if len(dims) != len(shape.elts):
        raise bad
    if not (isinstance(descr, ast.Constant) and isinstance(descr.value, str)):
        raise SourceError(f"{where} holds records or Python objects; jvpcli reads arrays of numbers only")
    try:
        dtype = np.dtype(descr.value)
    except Exception:  # numpy's dtype parser on untrusted text: any failure is a bad header
        raise SourceError(f"{where} has an unknown dtype {descr.value[:40]!r}") from None
    if dtype.hasobject:
        raise SourceError(f"{where} holds Python objects (pickled data), which jvpcli does not load")
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise SourceError(f"{where} holds dtype {dtype}; jvpcli reads arrays of numbers only")
    return dtype, tuple(dims), fortran.value


def read_into(readinto: Callable[[memoryview], int | None], header: Header, where: str) -> np.ndarray:
    """The record's data into a fresh array, read in pieces (a pipe returns what it has)."""
    flat = np.empty(math.prod(header.shape), header.dtype)
    view = memoryview(flat.view(np.uint8))  # type: ignore[arg-type]
    done = 0
    while done < len(view):
        n = readinto(view[done : done + CHUNK])
        if not n:
            raise SourceError(
                f"{where} is truncated: its header says shape {header.shape} {header.dtype} "
                f"({header.nbytes} bytes), but only {done} bytes follow"
            )
        done += n
    return flat.reshape(header.shape, order=header.order)
