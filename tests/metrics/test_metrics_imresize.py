"""MATLAB imresize semantics (docs/metrics.md §A.0), checked against taps worked out by hand."""

import numpy as np
import pytest

from asnet_keras.metrics import matlab_imresize
from asnet_keras.metrics.imresize import cubic, imresize_weights, resize_axis_order
from tests.support import reference_metrics as reference

# Bicubic taps (a = -0.5) at fractional phase 0.25, i.e. distances 1.75, 0.75, -0.25, -1.25:
#   k(1.75) = -0.5*1.75^3 + 2.5*1.75^2 - 4*1.75 + 2 = -0.0234375
#   k(0.75) =  1.5*0.75^3 - 2.5*0.75^2 + 1            =  0.2265625
#   k(0.25) =  1.5*0.25^3 - 2.5*0.25^2 + 1            =  0.8671875
#   k(1.25) = -0.5*1.25^3 + 2.5*1.25^2 - 4*1.25 + 2 = -0.0703125   (sum = 1)
K175, K075, K025, K125 = -0.0234375, 0.2265625, 0.8671875, -0.0703125


def test_cubic_kernel_values_by_hand():
    t = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5, -0.75])
    expected = [1.0, K025, K075, 0.0, K125, K175, 0.0, 0.0, K075]
    np.testing.assert_allclose(cubic(t), expected, rtol=0, atol=1e-15)


def test_identity_size_returns_float64_copy():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = matlab_imresize(a, (3, 4))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, a)  # values, not /255: no im2double inside
    out[0, 0] = 99
    assert a[0, 0] == 0


def test_enlarge_ramp_by_two_matches_hand_taps_with_mirrored_border():
    # n = 4 -> 8, s = 2: u = x/2 + 0.25 for x = 1..8 -> 0.75, 1.25, ..., 4.25.
    # Input ramp v(1..4) = 0, 1, 2, 3; mirrored borders: v(0) = v(1) = 0, v(-1) = v(2) = 1,
    # v(5) = v(4) = 3, v(6) = v(3) = 2.
    # x=1, u=0.75: taps at j=-1,0,1,2 with distances 1.75,0.75,-0.25,-1.25
    #   = K175*v(2) + K075*v(1) + K025*v(1) + K125*v(2) = K175 + K125 = -0.09375
    # x=2, u=1.25: taps j=0..3, distances 1.25,0.25,-0.75,-1.75
    #   = K125*0 + K025*0 + K075*1 + K175*2 = 0.2265625 - 0.046875 = 0.1796875
    # x=3, u=1.75: taps j=0..3, distances 1.75,0.75,-0.25,-1.25
    #   = K175*0 + K075*0 + K025*1 + K125*2 = 0.8671875 - 0.140625 = 0.7265625
    # x=4, u=2.25: taps j=1..4 = K125*0 + K025*1 + K075*2 + K175*3 = 1.25 (interior: exact ramp)
    # x=5..8 by the symmetry out(x) + out(9-x) = 3.
    ramp = np.array([[0.0, 1.0, 2.0, 3.0]])
    expected = [-0.09375, 0.1796875, 0.7265625, 1.25, 1.75, 2.2734375, 2.8203125, 3.09375]
    np.testing.assert_allclose(matlab_imresize(ramp, (1, 8))[0], expected, rtol=0, atol=1e-14)
    # The same along the other axis (a column).
    np.testing.assert_allclose(matlab_imresize(ramp.T, (8, 1))[:, 0], expected, rtol=0, atol=1e-14)


def test_enlarge_2x2_to_4x4_is_separable_hand_matrix():
    # n = 2 -> 4: the same phases as above; mirroring folds the four taps onto v1, v2:
    #   x=1: v1*(K075+K025) + v2*(K175+K125) = 1.09375 v1 - 0.09375 v2
    #   x=2: v1*(K125+K025) + v2*(K075+K175) = 0.796875 v1 + 0.203125 v2
    #   x=3, x=4: mirror images.
    w = np.array([[1.09375, -0.09375], [0.796875, 0.203125], [0.203125, 0.796875], [-0.09375, 1.09375]])
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(matlab_imresize(x, (4, 4)), w @ x @ w.T, rtol=0, atol=1e-14)


def test_shrink_uses_antialias_kernel_and_normalised_taps():
    # n = 4 -> 3, s = 0.75. Output x = 2: u = 2/0.75 + (1 - 1/0.75)/2 = 2.5.
    # Antialias kernel h(d) = s*k(s*d); distances 2.5 - j for j = 0..5 -> s*d = 1.875,
    # 1.125, 0.375, 0.375, 1.125, 1.875:
    #   k(15/8) = -7/1024, k(9/8) = -49/1024, k(3/8) = 745/1024, their sum S = 689/1024,
    #   so the raw taps sum to 0.75 * 2S = 1.0093 (not 1) and are divided by that sum.
    # Input [1, 0, 0, 0]; taps j=0 and j=1 both read v(1) = 1 (j=0 mirrors onto 1):
    #   out(2) = (k(15/8) + k(9/8)) / (2S) = (-56/1024) / (1378/1024) = -28/689.
    # Octave's unnormalised value would be 0.75 * (-56/1024) = -0.041015625.
    out = matlab_imresize(np.array([[1.0, 0.0, 0.0, 0.0]]), (1, 3))
    assert out[0, 1] == pytest.approx(-28 / 689, abs=1e-15)
    assert out[0, 1] != pytest.approx(-0.041015625, abs=1e-6)
    weights, indices = imresize_weights(4, 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert indices.min() >= 0 and indices.max() <= 3


def test_shrink_keeps_a_constant_map_constant():
    # Only true because the taps are normalised (sum of raw taps != 1 for s = 3/7, 2/5).
    out = matlab_imresize(np.full((7, 5), 0.3), (3, 2))
    np.testing.assert_allclose(out, 0.3, rtol=0, atol=1e-15)


def test_weights_mirror_indices_symmetrically():
    # n = 2 -> 4, output x=1 (u=0.75): raw 1-based taps j = -2..3. Symmetric padding of
    # [1, 2] reads ... 2, 2, 1, 1 | 1, 2 | 2, 2, 1, 1 ..., so j = -2, -1, 0, 1, 2, 3 map to
    # 2, 2, 1, 1, 2, 2, i.e. 0-based 1, 1, 0, 0, 1, 1.
    _, indices = imresize_weights(2, 4)
    np.testing.assert_array_equal(indices[0], [1, 1, 0, 0, 1, 1])


def test_axis_order_is_increasing_scale_and_skips_unchanged_axes():
    assert resize_axis_order((10, 10), (20, 5)) == [1, 0]  # columns shrink (0.5) first
    assert resize_axis_order((10, 10), (5, 20)) == [0, 1]
    assert resize_axis_order((10, 10), (10, 30)) == [1]
    assert resize_axis_order((10, 10), (20, 20)) == [0, 1]  # tie: rows first (stable sort)
    assert resize_axis_order((4, 4), (4, 4)) == []


def test_mixed_resize_equals_separable_product():
    # Resizing is linear and separable: out = Wr X Wc^T with the per-axis weight matrices.
    rng = np.random.default_rng(0)
    x = rng.random((6, 9))
    dense = []
    for n_in, n_out in ((6, 13), (9, 4)):
        weights, indices = imresize_weights(n_in, n_out)
        mat = np.zeros((n_out, n_in))
        np.add.at(mat, (np.repeat(np.arange(n_out), weights.shape[1]), indices.ravel()), weights.ravel())
        dense.append(mat)
    np.testing.assert_allclose(matlab_imresize(x, (13, 4)), dense[0] @ x @ dense[1].T, rtol=0, atol=1e-13)


def test_channels_are_resized_independently():
    x = np.stack([np.eye(3), 2 * np.eye(3)], axis=-1)
    out = matlab_imresize(x, (5, 4))
    assert out.shape == (5, 4, 2)
    np.testing.assert_allclose(out[..., 1], 2 * out[..., 0], rtol=0, atol=1e-14)


def test_rejects_one_dimensional_input():
    with pytest.raises(ValueError, match="H×W"):
        matlab_imresize(np.arange(4.0), (8,))


def test_sizes_must_be_positive_and_one_pixel_axes_resize():
    for n_in, n_out in ((0, 3), (3, 0)):
        with pytest.raises(ValueError, match=rf"^imresize needs positive sizes, got {n_in} -> "
                                             rf"{n_out}$"):
            imresize_weights(n_in, n_out)
    weights, indices = imresize_weights(1, 3)  # every tap reads the one pixel
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert set(indices.ravel().tolist()) == {0}
    np.testing.assert_allclose(matlab_imresize(np.array([[2.0, 4.0, 6.0]]), (1, 1)), [[4.0]],
                               rtol=0, atol=1e-14)  # the kernel is symmetric about the middle


@pytest.mark.parametrize("shape, size", [((4, 4), (1, 1)), ((9, 7), (2, 3)), ((7, 5), (3, 2)),
                                         ((2, 3), (3, 5)), ((4, 6), (6, 9)), ((6, 9), (13, 4))])
def test_resize_equals_matlabs_formula_one_sample_at_a_time(shape, size):
    # The reference sums the kernel over every tap where it is not zero (a support of
    # 4 / scale when shrinking), so a missing or misplaced tap, or the antialiasing kernel
    # used when enlarging by less than 2, shows.
    x = np.random.default_rng(sum(shape) * 10 + sum(size)).random(shape)
    np.testing.assert_allclose(matlab_imresize(x, size), reference.imresize_loop(x, size),
                               rtol=0, atol=1e-13)


def test_axis_order_uses_the_scale_not_the_sizes():
    # (10, 40) → (20, 20): rows ×2, columns ×0.5, so columns first, although 20·40 > 20·10
    assert resize_axis_order((10, 40), (20, 20)) == [1, 0]


def test_cubic_is_float64_for_float32_and_integer_distances():
    # k(0.1) = 1.5 · 0.001 − 2.5 · 0.01 + 1 = 0.9765 for the float32 value of 0.1 read as
    # a double (0.100000001490116…), not computed in float32.
    t = float(np.float32(0.1))
    got = cubic(np.array([0.1], np.float32))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [1.5 * t**3 - 2.5 * t**2 + 1], rtol=1e-15, atol=0)
    assert cubic(np.array([0, 1, 2, 3])).tolist() == [1.0, 0.0, 0.0, 0.0]
