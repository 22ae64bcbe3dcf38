"""Kernels on disk, so a call that was made before never imports sympy.

The folder is private (0700). Each file records a keyed BLAKE2b MAC of its content under
a secret kept in the folder: a corrupt, truncated or foreign file fails the check and is rebuilt,
never run. Writes are atomic (temporary file, then rename), so concurrent writers of the
same kernel cannot leave half a file.
"""

from __future__ import annotations

import json
import os
import stat
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
FORMAT = 8


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


#: the largest cache file read; anything larger is not a kernel jvpcli wrote
MAX_ENTRY = 16 * 2**20
SECRET_BYTES = 32
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
#: folders already found untrusted in this process: each is reported once
_WARNED: set[str] = set()


class KernelCache:
    """One folder of kernel files (plain ``os.path``: importing pathlib is ~5 ms of a cached call).

    Trusted as ssh trusts ``~/.ssh``: only a folder owned by the user and writable by no one
    else, and in it only regular files of the user's, opened relative to the folder without
    following links and without blocking, of bounded size.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)

    def get(self, key: str) -> Kernel | None:
        folder = self._open()
        if folder is None:
            return None
        try:
            return self.unseal(json.loads(_read(folder, f"{key}.json", MAX_ENTRY)), key)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        finally:
            os.close(folder)

    def put(self, key: str, kernel: Kernel) -> None:
        """Best effort: a cache that cannot be written never fails the command."""
        try:
            record = json.dumps(self.seal(key, kernel)).encode()
            write_atomic(self._path(f"{key}.json"), record, mode=0o600)
        except (OSError, OutputError, ValueError):
            pass

    def seal(self, key: str, kernel: Kernel) -> dict[str, str]:
        """The entry of ``kernel`` under ``key``, with its MAC: what the file holds, and what a
        dask worker receives (it checks the MAC under the same secret: a shared cache folder)."""
        self._ensure_folder()
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
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OutputError):
            return None

    def info(self) -> tuple[int, int]:
        names = [n for n in os.listdir(self.folder) if n.endswith(".json")] if os.path.isdir(self.folder) else []
        return len(names), sum(os.path.getsize(self._path(n)) for n in names)

    def clear(self) -> int:
        import shutil

        count = self.info()[0]
        if os.path.isdir(self.folder):
            try:
                shutil.rmtree(self.folder)
            except OSError as exc:
                raise OutputError(f"cannot clear the kernel cache {self.folder}: {exc.strerror}") from None
        return count

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def _ensure_folder(self) -> None:
        if not os.path.exists(self.folder):
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            os.chmod(self.folder, 0o700)

    def _open(self) -> int | None:
        """A descriptor of the folder, or None when it is missing or not to be trusted."""
        try:
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        if _trusted(fd, self.folder):
            return fd
        os.close(fd)
        return None

    def _secret(self, folder: int) -> bytes:
        try:
            secret = _read(folder, SECRET, SECRET_BYTES)
        except FileNotFoundError:
            try:
                fd = os.open(SECRET, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder)
            except FileExistsError:  # another process made it first
                return self._secret(folder)
            with os.fdopen(fd, "wb") as fp:
                fp.write(os.urandom(SECRET_BYTES))
            secret = _read(folder, SECRET, SECRET_BYTES)
        if len(secret) != SECRET_BYTES:
            raise ValueError("the cache secret is not one jvpcli wrote")
        return secret

    def _mac(self, payload: str) -> str:
        """BLAKE2b keyed with the folder's secret: a MAC by design, no HMAC construction needed.
        A folder that is missing or not to be trusted has no secret to use."""
        folder = self._open()
        if folder is None:
            raise OutputError(f"the kernel cache {self.folder} is missing or not private to you")
        try:
            secret = self._secret(folder)
        finally:
            os.close(folder)
        return blake2b(payload.encode(), key=secret, digest_size=32).hexdigest()


def _trusted(fd: int, folder: str) -> bool:
    st = os.fstat(fd)
    reason = ""
    if st.st_uid != os.geteuid():
        reason = f"owned by another user (uid {st.st_uid})"
    elif st.st_mode & 0o022:
        reason = f"writable by group or others (mode {st.st_mode & 0o777:o})"
    if reason and folder not in _WARNED:
        import warnings

        from jvpcli.errors import CacheWarning

        _WARNED.add(folder)
        warnings.warn(
            f"not using the kernel cache {folder}: it is {reason}, so its kernels could be anyone's; "
            "use a folder of your own with mode 0700 (chmod 700, or set JVPCLI_CACHE_DIR)",
            CacheWarning,
            stacklevel=4,
        )
    return not reason


def _read(folder: int, name: str, limit: int) -> bytes:
    """A regular file of the user's, at most ``limit`` bytes: never a link, a FIFO or a device."""
    fd = os.open(name, _READ, dir_fd=folder)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > limit:
            raise ValueError(f"{name} is not a file jvpcli wrote")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
