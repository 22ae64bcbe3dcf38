"""matmul's transpose through matmul (BLAS) equals the same contraction spelled out for einsum."""

import numpy as np
import pytest

from jvpcli.kernels import runtime

SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5))]
SHAPES += [((2, 1, 3, 4), (5, 4, 2)), ((1, 4), (4, 1))]


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("shape_a, shape_b", SHAPES)
def test_matmuls_transpose_by_matmul_equals_einsums(shape_a, shape_b, complex_):
    rng = np.random.default_rng(0)

    def draw(shape):
        return rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if complex_ else 0)

    a, b = draw(shape_a), draw(shape_b)
    g = draw(np.matmul(a, b).shape)
    spec = runtime._spec("matmul", (a, b))  # the same contraction, spelled out: einsum's route
    for part, like in ((0, a), (1, b)):
        ours = runtime.contract_t(g, a, b, kind="matmul", part=part)
        assert ours.shape == like.shape
        np.testing.assert_allclose(ours, runtime.contract_t(g, a, b, kind=spec, part=part), rtol=1e-12, atol=1e-12)


def test_an_einsum_over_broadcast_axes_transposes_to_an_operand_without_them():
    """``einsum('...ij,jk->...ik', S, W)`` in W: its cotangent sums over the broadcast axes,
    which numpy's einsum cannot drop in one call: ``sum_b S_b^T G_b``, written out."""
    rng = np.random.default_rng(1)
    s, w = rng.standard_normal((2, 5, 3, 4)), rng.standard_normal((4, 6))
    g = rng.standard_normal((2, 5, 3, 6))
    ours = runtime.contract_t(g, s, w, kind="...ij,jk->...ik", part=1)
    want = sum(s[a, b].T @ g[a, b] for a in range(2) for b in range(5))
    np.testing.assert_allclose(ours, want, rtol=1e-12)
