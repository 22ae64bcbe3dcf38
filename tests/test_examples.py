"""torch's documented jvp examples, with the results its documentation prints."""

import numpy as np

import jvpcli


def test_exp_reducer_matches_the_closed_form():
    x = np.random.default_rng(0).random((4, 4))
    result = jvpcli.jvp("x.exp().sum(dim=1)", x, np.ones((4, 4)))
    np.testing.assert_allclose(result.output, np.exp(x).sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(result.jvp, np.exp(x).sum(axis=1), rtol=1e-15)


def test_adder_gives_five():
    out, tangent = jvpcli.jvp(
        "lambda x, y: 2*x + 3*y", (np.array([0.1, 0.2]), np.array([0.3, 0.4])), (np.ones(2), np.ones(2))
    )
    np.testing.assert_array_equal(tangent, [5.0, 5.0])
    np.testing.assert_allclose(out, [1.1, 1.6], rtol=1e-15)
