"""How much an untrusted SOURCE may make jvpcli hold in memory.

``--max-bytes`` bounds every array jvpcli reads or makes in memory (standard input, a
``.npz`` member, a text table, a generated array); it defaults to a fraction of the memory
this process may use. Large ``.npy`` files are mapped, not read, and do not count.
"""

from __future__ import annotations

import os

#: the default --max-bytes: this share of the memory the process may use
MEMORY_SHARE = 0.5
#: an archive member may inflate to this many times its compressed size ...
MAX_RATIO = 100
#: ... once it is larger than this (small arrays of zeros compress better than that)
RATIO_GRACE = 64 * 2**20
#: a text table's numbers take at most this many bytes of memory per byte of text
TEXT_EXPANSION = 4


def usable_memory() -> int:
    """Physical memory, less where a cgroup or a resource limit allows less."""
    sizes = [os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
    try:
        with open("/sys/fs/cgroup/memory.max") as fp:
            text = fp.read().strip()
        if text.isdigit():
            sizes.append(int(text))
    except OSError:
        pass
    import resource

    for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY:
            sizes.append(soft)
    return min(sizes)


def default_max_bytes() -> int:
    return int(usable_memory() * MEMORY_SHARE)


def parse_size(text: str) -> int:
    """``1000``, ``64K``, ``512M``, ``2G`` (powers of 1024) -> bytes; ValueError otherwise."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    if not number.isdigit() or len(number) > 20:
        raise ValueError(f"not a size: {text!r}")
    return int(number) * scale


def describe(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
