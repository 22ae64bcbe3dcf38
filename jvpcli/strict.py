"""``strict``: torch's checks for each member of the family, in torch's order, on torch's graph
of FUNC (``symbolic/connect.py``), never on numbers.

torch.autograd.functional fails with strict=True where a backward pass it takes gives None
(no path to an input) or a result that does not require grad (a graph that reaches no
input). Which passes it takes is each function's own: vjp one backward; jvp a backward whose
cotangent requires grad, then a backward of that (the double-backward trick); jacobian one
backward per output; hessian, hvp and vhp a backward with ``create_graph`` and one more.
"""

from __future__ import annotations

from jvpcli.errors import StrictError
from jvpcli.kernels.kernel import label
from jvpcli.lang.parse import Program
from jvpcli.symbolic.connect import Backward, Graph

Kinds = tuple[tuple[str, bool], ...]


class Strict:
    """torch's strict verdicts for FUNC with inputs (and constants) of these kinds."""

    def __init__(self, program: Program, inputs: Kinds, constants: Kinds) -> None:
        from jvpcli.kernels.compiler import built

        b = built(program, inputs, constants)
        self.graph, self.is_tuple = Graph(b.outputs, b.inputs), b.is_tuple
        self.names = [n for n, _ in inputs]
        self.n_out = len(b.outputs)

    def _output(self, i: int) -> str:
        return label("output", i, self.is_tuple)

    def _backs(self) -> list[Backward]:
        return [self.graph.backward(i) for i in range(self.n_out)]

    def outputs(self) -> None:
        """Every output is computed from some input (it requires grad)."""
        for i in range(self.n_out):
            if not self.graph.connected(i):
                raise StrictError(f"strict: {self._output(i)} does not depend on any input")

    def vjp(self, create_graph: bool) -> None:
        self.outputs()
        backs = self._backs()
        for j, name in enumerate(self.names):
            if not any(b.defined[j] for b in backs):
                raise StrictError(f"strict: every output is independent of input '{name}'")
            if create_graph and not any(b.depends[j] for b in backs):
                raise StrictError(f"strict: with --create-graph, the vjp for input '{name}' depends on no input")

    def jvp(self, create_graph: bool) -> None:
        self.outputs()
        backs = self._backs()
        for j, name in enumerate(self.names):
            if not any(b.defined[j] for b in backs):
                raise StrictError(f"strict: no output depends on input '{name}'")
            if not any(b.carries[j] or b.depends[j] for b in backs):
                raise StrictError(f"strict: the gradient with respect to input '{name}' is independent of the inputs")
        for i, b in enumerate(backs):
            if not any(b.carries):
                raise StrictError(
                    f"strict: the gradient is independent of the cotangent of {self._output(i)} "
                    "(torch's double-backward trick for the jvp fails)"
                )
            if create_graph and not any(c and d for c, d in zip(b.carries, b.depends)):
                raise StrictError(f"strict: with --create-graph, the jvp of {self._output(i)} depends on no input")

    def jacobian(self, sizes: list[int], create_graph: bool) -> None:
        """Each output of ``sizes[i]`` elements against each input (torch checks each pair)."""
        self.outputs()
        for i, size in enumerate(sizes):
            if not size:
                continue
            b = self.graph.backward(i)
            for j, name in enumerate(self.names):
                if not b.defined[j]:
                    raise StrictError(f"strict: {self._output(i)} is independent of input '{name}'")
                if create_graph and not b.depends[j]:
                    raise StrictError(
                        f"strict: with --create-graph, the jacobian of {self._output(i)} "
                        f"for input '{name}' depends on no input"
                    )

    def _gradient(self) -> Backward:
        """hessian, hvp, vhp: the output's gradient, with create_graph, requires grad."""
        self.outputs()
        b = self.graph.backward(0)
        for j, name in enumerate(self.names):
            if not b.depends[j]:
                raise StrictError(f"strict: the gradient with respect to input '{name}' is independent of the inputs")
        return b

    def hessian(self) -> None:
        """Each block ``[i][j]``: the gradient for input i depends on input j."""
        b = self._gradient()
        for i, first in enumerate(self.names):
            for j, second in enumerate(self.names):
                if j not in b.depends[i]:
                    raise StrictError(
                        f"strict: the gradient with respect to input '{first}' is independent of input '{second}'"
                    )

    def vhp(self) -> None:
        b = self._gradient()
        for j, name in enumerate(self.names):
            if not any(j in d for d in b.depends):
                raise StrictError(f"strict: the vhp is independent of input '{name}'")

    def hvp(self) -> None:
        """torch's hvp differentiates the vhp once more (the double-backward trick): the
        gradient for each input needs a second derivative that passes the tangent on."""
        b = self._gradient()
        for j, name in enumerate(self.names):
            if not b.passes[j]:
                raise StrictError(
                    f"strict: the hvp is independent of the tangent for input '{name}' "
                    "(torch's double-backward trick finds no second derivative)"
                )
