"""jvpcli: Jacobian-vector products of FUNC text, differentiated symbolically, run with numpy."""

from jvpcli.api import JvpResult, jvp
from jvpcli.compiler import Graph
from jvpcli.errors import (
    ComputeError,
    JvpcliError,
    NonFiniteWarning,
    ParseError,
    ShapeError,
    SourceError,
    StrictError,
    UsageError,
)
from jvpcli.lang.parse import parse

__version__ = "0.1.0"
__all__ = [
    "ComputeError",
    "Graph",
    "JvpResult",
    "JvpcliError",
    "NonFiniteWarning",
    "ParseError",
    "ShapeError",
    "SourceError",
    "StrictError",
    "UsageError",
    "__version__",
    "jvp",
    "parse",
]
