"""jvpcli: Jacobian-vector products of FUNC text, differentiated symbolically, run with numpy.

Names are imported on first use, so ``jvpcli --help`` and a cached call stay light.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "jvp": "jvpcli.api",
    "JvpResult": "jvpcli.api",
    "Options": "jvpcli.api",
    "Graph": "jvpcli.kernels.kernel",
    "parse": "jvpcli.lang.parse",
    "show": "jvpcli.explain",
    "ComputeError": "jvpcli.errors",
    "JvpcliError": "jvpcli.errors",
    "NonFiniteWarning": "jvpcli.errors",
    "ParseError": "jvpcli.errors",
    "ShapeError": "jvpcli.errors",
    "SourceError": "jvpcli.errors",
    "StrictError": "jvpcli.errors",
    "UsageError": "jvpcli.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jvpcli' has no attribute {name!r}")
