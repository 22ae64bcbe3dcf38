"""torch's seed semantics through the Python API: defaults, strict, dtypes, shapes, complex."""

import numpy as np
import pytest

import jvpcli
from jvpcli import NonFiniteWarning, ShapeError, StrictError, UsageError


def test_v_defaults_to_one_for_a_single_one_element_input():
    result = jvpcli.jvp("x ** 3", np.array([2.0]))
    assert result.jvp.tolist() == [12.0]
    with pytest.raises(UsageError, match="v is required"):
        jvpcli.jvp("x ** 3", np.array([2.0, 3.0]))
    with pytest.raises(UsageError, match="v is required"):
        jvpcli.jvp("lambda x, y: x * y", (2.0, 3.0))


def test_an_output_that_depends_on_no_input_gets_zeros_of_its_shape_and_dtype():
    x = np.ones((2, 3), dtype=np.float32)
    result = jvpcli.jvp(
        "lambda x, c: (x * 0 + 1, c * 2)", (x, np.ones(4, dtype=np.float32)), (x, np.ones(4, dtype=np.float32))
    )
    assert result.jvp[0].shape == (2, 3) and result.jvp[0].dtype == np.float32 and not result.jvp[0].any()
    np.testing.assert_array_equal(result.jvp[1], np.full(4, 2.0, dtype=np.float32))


@pytest.mark.parametrize(
    ("func", "message"),
    [
        ("lambda x, y: x * 2", "no output depends on input 'y'"),
        ("lambda x, y: (x * y, 2.0)", "output 1 does not depend on any input"),
        ("lambda x, y: x.detach() + y", "no output depends on input 'x'"),
    ],
)
def test_strict_decides_dependence_symbolically(func, message):
    args = (np.ones(2), np.ones(2))
    jvpcli.jvp(func, args, args)  # fine without strict
    with pytest.raises(StrictError, match=message):
        jvpcli.jvp(func, args, args, strict=True)


@pytest.mark.parametrize("func", ["lambda x, y: (x * y, y)", "lambda x, y: x - x + y", "lambda x, y: x * 0 + y"])
def test_strict_passes_when_everything_takes_part(func):
    """torch's graph keeps x in x - x and x * 0 (a zero gradient), so strict passes there."""
    jvpcli.jvp(func, (np.ones(2), np.ones(2)), (np.ones(2), np.ones(2)), strict=True)


def test_integer_and_boolean_inputs_become_float64_and_float32_stays():
    assert jvpcli.jvp("x * 2", np.array([1, 2]), np.array([1, 1])).output.dtype == np.float64
    assert jvpcli.jvp("x * 2", np.array([True]), np.array([1])).jvp.dtype == np.float64
    x32 = np.array([0.5, 1.5], dtype=np.float32)
    result = jvpcli.jvp("sqrt(2) * erf(x) + pi", x32, np.ones(2, dtype=np.float32))
    assert result.output.dtype == np.float32 and result.jvp.dtype == np.float32
    assert jvpcli.jvp("x * 2", x32, x32, dtype=np.float64).output.dtype == np.float64


def test_tangent_shape_must_match_its_input():
    with pytest.raises(ShapeError, match=r"tangent for input 'x' has shape \(3,\), but 'x' has shape \(2,\)"):
        jvpcli.jvp("x * 2", np.ones(2), np.ones(3))


def test_cancellation_keeps_numpy_shapes():
    x, y = np.ones(3), np.ones((2, 3))
    assert jvpcli.jvp("x - x", x, x).output.shape == (3,)
    result = jvpcli.jvp("lambda x, y: x + y - y", (x, y), (x, y))
    assert result.output.shape == (2, 3) and result.jvp.shape == (2, 3)
    summed = jvpcli.jvp("lambda x, y: sum(x + y, axis=0)", (x, y), (x, np.zeros_like(y)))
    np.testing.assert_array_equal(summed.jvp, [2, 2, 2])


def test_a_variable_may_be_called_like_a_function_name():
    np.testing.assert_array_equal(jvpcli.jvp("lambda exp: exp * 2 + sum(exp)", np.ones(2), np.ones(2)).jvp, [4, 4])


def test_user_names_never_reach_the_generated_code():
    result = jvpcli.jvp("lambda numpy, _rt, a0: numpy * _rt + a0", (2.0, 3.0, 4.0), (1.0, 0.0, 0.0))
    assert result.output == 10.0 and result.jvp == 3.0


def test_tangent_names_avoid_taken_names():
    result = jvpcli.jvp("lambda x, v_x: x * v_x", (2.0, 3.0), (1.0, 0.0), create_graph=True)
    assert result.graph.tangents == ("v_x_1", "v_v_x")
    assert result.graph.jvp == ("v_v_x*x + v_x*v_x_1",)


def test_constants_are_used_but_not_differentiated():
    result = jvpcli.jvp("A @ x", np.ones(2), np.ones(2), constants={"A": np.eye(2) * 3})
    np.testing.assert_array_equal(result.jvp, [3, 3])
    assert result.inputs == ("x",)


def test_non_finite_results_warn_and_still_return():
    with pytest.warns(NonFiniteWarning) as record:
        result = jvpcli.jvp("log(x)", np.array([0.0, 1.0]), np.ones(2))
    assert [str(w.message) for w in record] == [
        "output has 1 non-finite value(s) (NaN or infinity)",
        "jvp has 1 non-finite value(s) (NaN or infinity)",
    ]
    assert result.output[0] == -np.inf and result.jvp[0] == np.inf


def test_real_inputs_give_real_symbols_without_re_im_noise():
    result = jvpcli.jvp("abs(x) * conj(x) + real(x)", np.array([2.0]), np.array([1.0]), create_graph=True)
    assert "re(" not in result.graph.jvp[0] and "real(" not in result.graph.jvp[0]


def test_complex_non_holomorphic_functions_are_real_linear():
    z, v = np.array([3 + 4j]), np.array([1j])
    # d|z| along v = Re(conj(z) v) / |z|
    np.testing.assert_allclose(jvpcli.jvp("abs(z)", z, v).jvp, [(np.conj(z) * v).real[0] / 5])
    np.testing.assert_allclose(jvpcli.jvp("conj(z)", z, v).jvp, np.conj(v))


def test_result_unpacks_like_torch():
    out, jvp = jvpcli.jvp("x * 2", np.ones(2), np.ones(2))
    np.testing.assert_array_equal(jvp, [2, 2])
    assert out.flags.writeable


def test_a_real_dtype_never_drops_an_imaginary_part():
    with pytest.raises(UsageError, match="would drop its imaginary part"):
        jvpcli.jvp("abs(z)", np.array([1j]), np.array([1j]), dtype=np.float32)
