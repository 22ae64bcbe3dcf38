"""Kernels on disk, so a call that was made before never imports sympy.

The folder is private (0700). Each file records a keyed BLAKE2b MAC of its content under
a secret kept in the folder: a corrupt, truncated or foreign file fails the check and is rebuilt,
never run. Writes are atomic (temporary file, then rename), so concurrent writers of the
same kernel cannot leave half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

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


def default_folder() -> Path:
    folder = os.environ.get("JVPCLI_CACHE_DIR")
    if folder:
        return Path(folder)
    import platformdirs

    return Path(platformdirs.user_cache_dir("jvpcli"))


def cache_key(parts: Sequence[object]) -> str:
    from jvpcli import __version__

    return blake2b(json.dumps([__version__, FORMAT, *parts], sort_keys=True).encode(), digest_size=32).hexdigest()


class KernelCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> Kernel | None:
        try:
            record = json.loads((self.folder / f"{key}.json").read_text())
            payload, mac = record["payload"], record["mac"]
            if not compare_digest(mac, self._mac(payload)):
                return None
            data = json.loads(payload)
            return Kernel.from_dict(data["kernel"]) if data.get("key") == key else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, kernel: Kernel) -> None:
        """Best effort: a cache that cannot be written never fails the command."""
        try:
            self._ensure_folder()
            payload = json.dumps({"key": key, "kernel": kernel.to_dict()})
            write_atomic(
                str(self.folder / f"{key}.json"),
                json.dumps({"payload": payload, "mac": self._mac(payload)}).encode(),
                mode=0o600,
            )
        except (OSError, OutputError):
            pass

    def info(self) -> tuple[int, int]:
        files = list(self.folder.glob("*.json")) if self.folder.is_dir() else []
        return len(files), sum(f.stat().st_size for f in files)

    def clear(self) -> int:
        import shutil

        count = self.info()[0]
        if self.folder.is_dir():
            shutil.rmtree(self.folder)
        return count

    def _ensure_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)

    def _secret(self) -> bytes:
        path = self.folder / SECRET
        try:
            return path.read_bytes()
        except FileNotFoundError:
            self._ensure_folder()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return path.read_bytes()
            with os.fdopen(fd, "wb") as fp:
                fp.write(os.urandom(32))
            return path.read_bytes()

    def _mac(self, payload: str) -> str:
        """BLAKE2b keyed with the folder's secret: a MAC by design, no HMAC construction needed."""
        return blake2b(payload.encode(), key=self._secret(), digest_size=32).hexdigest()
