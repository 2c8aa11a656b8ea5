"""`to_uint8` rounds a float32 map in float32 (the photo-size maps `MapPipeline.finish`
makes) and must give exactly the float64 formula round(255 · clip(p, 0, 1)),
docs/metrics.md §0: on random maps and on every float32 near each half grey level."""

import numpy as np
import pytest

from asnet_keras.metrics.common import to_uint8


def float64_formula(a):
    return np.rint(255.0 * np.clip(np.asarray(a, np.float64), 0.0, 1.0)).astype(np.uint8)


def test_random_float32_maps_round_as_the_float64_formula():
    rng = np.random.default_rng(0)
    a = rng.uniform(-0.2, 1.3, 2_000_000).astype(np.float32)
    np.testing.assert_array_equal(to_uint8(a), float64_formula(a))


def test_every_float32_within_64_steps_of_a_half_grey_level():
    # (k + 0.5) / 255 for k = 0 … 254, and the 64 float32 values either side of each:
    # where 255 · c computed in float32 lands on or across the half-integer
    centres = ((np.arange(255) + 0.5) / 255).astype(np.float32)
    values = [centres]
    up, down = centres.copy(), centres.copy()
    for _ in range(64):
        up = np.nextafter(up, np.float32(2))
        down = np.nextafter(down, np.float32(-1))
        values += [up, down]
    a = np.concatenate(values)
    got, want = to_uint8(a), float64_formula(a)
    np.testing.assert_array_equal(got, want)
    # the float32 product alone would get some of them wrong: the fix-up is needed
    naive = np.rint(np.clip(a, 0, 1) * np.float32(255)).astype(np.uint8)
    assert (naive != want).any()


def test_float32_edges_and_refusal():
    a = np.array([[0.0, -0.0, 1.0, 1.5, -3.0, 2.0]], np.float32)
    assert to_uint8(a).tolist() == [[0, 0, 255, 255, 0, 255]]
    with pytest.raises(ValueError, match="0-255 map"):
        to_uint8(np.array([0.5, 3.0], np.float32))
