"""Kernels on disk, so a call that was made before never imports sympy.

The folder is private (0700). Each file records a keyed BLAKE2b MAC of its content under
a secret kept in the folder: a corrupt, truncated or foreign file fails the check and is rebuilt,
never run. Writes are atomic (temporary file, then rename), so concurrent writers of the
same kernel cannot leave half a file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from jvpcli.arrays.sinks import write_atomic
from jvpcli.errors import OutputError
from jvpcli.kernels.kernel import Kernel

try:  # CPython's own BLAKE2: importing hashlib or hmac loads OpenSSL, ~4 ms of every call's start-up
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import blake2b
from _operator import _compare_digest as compare_digest  # what hmac.compare_digest is

SECRET = "secret"
#: the kernels' calling convention and helpers: a change misses every kernel of the old ones
FORMAT = 6


def default_folder() -> str:
    """``JVPCLI_CACHE_DIR``, else the user cache folder: on Linux and other Unixes the XDG rule
    that platformdirs implements (``$XDG_CACHE_HOME/jvpcli``, else ``~/.cache/jvpcli``),
    written out because importing platformdirs is ~10 ms of a cached call; platformdirs elsewhere."""
    folder = os.environ.get("JVPCLI_CACHE_DIR")
    if folder:
        return folder
    if sys.platform == "darwin" or os.name == "nt":
        import platformdirs

        return platformdirs.user_cache_dir("jvpcli")
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
    return os.path.join(base, "jvpcli")


def cache_key(parts: Sequence[object]) -> str:
    from jvpcli import __version__

    return blake2b(json.dumps([__version__, FORMAT, *parts], sort_keys=True).encode(), digest_size=32).hexdigest()


class KernelCache:
    """One folder of kernel files (plain ``os.path``: importing pathlib is ~5 ms of a cached call)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)

    def get(self, key: str) -> Kernel | None:
        try:
            with open(self._path(f"{key}.json"), encoding="utf-8") as fp:
                return self.unseal(json.load(fp), key)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, kernel: Kernel) -> None:
        """Best effort: a cache that cannot be written never fails the command."""
        try:
            self._ensure_folder()
            write_atomic(self._path(f"{key}.json"), json.dumps(self.seal(key, kernel)).encode(), mode=0o600)
        except (OSError, OutputError):
            pass

    def seal(self, key: str, kernel: Kernel) -> dict[str, str]:
        """The entry of ``kernel`` under ``key``, with its MAC: what the file holds, and what a
        dask worker receives (it checks the MAC under the same secret: a shared cache folder)."""
        payload = json.dumps({"key": key, "kernel": kernel.to_dict()})
        return {"payload": payload, "mac": self._mac(payload)}

    def unseal(self, record: dict[str, str], key: str) -> Kernel | None:
        """The kernel of an entry whose MAC holds under this folder's secret, else ``None``."""
        try:
            payload, mac = record["payload"], record["mac"]
            if not compare_digest(mac, self._mac(payload)):
                return None
            data = json.loads(payload)
            return Kernel.from_dict(data["kernel"]) if data.get("key") == key else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def info(self) -> tuple[int, int]:
        names = [n for n in os.listdir(self.folder) if n.endswith(".json")] if os.path.isdir(self.folder) else []
        return len(names), sum(os.path.getsize(self._path(n)) for n in names)

    def clear(self) -> int:
        import shutil

        count = self.info()[0]
        if os.path.isdir(self.folder):
            shutil.rmtree(self.folder)
        return count

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def _ensure_folder(self) -> None:
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def _secret(self) -> bytes:
        path = self._path(SECRET)
        try:
            return _read_bytes(path)
        except FileNotFoundError:
            self._ensure_folder()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return _read_bytes(path)
            with os.fdopen(fd, "wb") as fp:
                fp.write(os.urandom(32))
            return _read_bytes(path)

    def _mac(self, payload: str) -> str:
        """BLAKE2b keyed with the folder's secret: a MAC by design, no HMAC construction needed."""
        return blake2b(payload.encode(), key=self._secret(), digest_size=32).hexdigest()


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fp:
        return fp.read()
