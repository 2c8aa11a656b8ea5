"""The helpers both metric families share (docs/metrics.md §0): a prediction as the uint8
image it would be on disk, and the NaN-skipping mean of per-image scores."""

import math
import warnings

import numpy as np
import pytest

from asnet_keras.metrics.common import nan_summary, to_uint8


def test_to_uint8_gives_uint8_for_every_accepted_dtype():
    for given, expected in ((np.array([[True, False]]), [[255, 0]]),
                            (np.array([[0, 129, 255]], np.int64), [[0, 129, 255]]),
                            (np.array([[0.5, 1.0]], np.float32), [[128, 255]])):
        out = to_uint8(given)
        assert out.dtype == np.uint8 and out.tolist() == expected


def test_to_uint8_accepts_floats_up_to_two_and_names_the_fix_above():
    # 2.0 is still bicubic overshoot (clipped to 255); above it the map looks 0-255
    assert to_uint8(np.array([[2.0, 0.0]])).tolist() == [[255, 0]]
    with pytest.raises(ValueError, match=r"^a float prediction must be a map in \[0, 1\] "
                                         r"\(max 2\.001 given\); it looks like a 0-255 map: "
                                         r"pass it as uint8, or divide it by 255$"):
        to_uint8(np.array([[2.001]]))


def test_nan_summary_skips_and_counts_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns on the mean of an empty slice
        assert nan_summary([1.0, float("nan"), 3.0]) == (2.0, 1)
        mean, count = nan_summary([float("nan"), float("nan")])
        assert math.isnan(mean) and count == 2
        mean, count = nan_summary([])
        assert math.isnan(mean) and count == 0


def test_nan_summary_averages_in_float64():
    # three float32 scores: the mean of their exact values (as doubles), not a float32 sum
    scores = np.array([0.1, 0.2, 0.7], np.float32)
    mean, count = nan_summary(scores)
    assert count == 0 and isinstance(mean, float)
    assert mean == pytest.approx(sum(float(v) for v in scores) / 3, rel=1e-15, abs=0)
