"""Fixation metrics (docs/metrics.md §A) on tiny maps whose values are worked out by hand."""

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from asnet_keras.metrics import (
    FixationEvaluator,
    auc_judd,
    cc,
    fixation_density,
    nss,
    other_fixations_map,
    shuffled_auc,
    sim,
)
from tests.support import reference_metrics as reference


def fixmap(shape, *points):
    f = np.zeros(shape, dtype=np.uint8)
    for r, c in points:
        f[r, c] = 255
    return f


# A 2×2 map that `matlab_imresize` enlarges to 4×4 with exactly known values: each column
# of [[0, 0], [1, 1]] becomes r = [-0.09375, 0.203125, 0.796875, 1.09375] (see
# test_metrics_imresize: rows of W = [[1.09375, -0.09375], [0.796875, 0.203125], ...]),
# so every row of the 4×4 result is constant. minmax(r) = (r + 0.09375) / 1.1875
# = [0, 0.25, 0.75, 1] exactly.
SMALL = np.array([[0.0, 0.0], [1.0, 1.0]])
RESIZED_ROWS = np.array([-0.09375, 0.203125, 0.796875, 1.09375])


# --------------------------------------------------------------------------- AUC-Judd


def test_auc_judd_no_ties_by_hand():
    # S = [[60, 20, 40], [10, 50, 30]] -> minmax (x - 10)/50 = [[1, .2, .6], [0, .8, .4]].
    # Fixations at (1,1) = .8 and (0,1) = .2: K = 2, N = 6, N_neg = 4.
    # t1 = .8: A1 = #(S >= .8) = 2 -> TP = 1/2, FP = (2 - 1)/4 = .25
    # t2 = .2: A2 = #(S >= .2) = 5 -> TP = 1,   FP = (5 - 2)/4 = .75
    # ROC (0,0) (.25,.5) (.75,1) (1,1): area = .25*.25 + .5*.75 + .25*1 = .6875
    s = np.array([[60, 20, 40], [10, 50, 30]], dtype=np.float64)
    f = fixmap((2, 3), (1, 1), (0, 1))
    assert auc_judd(s, f, jitter=False) == 0.6875
    # uint8 input (read as x/255) has the same order, hence the same ROC.
    assert auc_judd(s.astype(np.uint8), f, jitter=False) == 0.6875
    # Jitter (< 1e-7) cannot reorder values 0.2 apart: the same value, for any seed.
    assert auc_judd(s, f, jitter=True, seed=0) == 0.6875
    assert auc_judd(s, f, jitter=True, seed=123) == 0.6875


def test_auc_judd_ties_without_jitter_use_mit_rank_rule():
    # S = [[.5, .5, 1], [.5, 0, 0]], fixations on both (0,0) and (0,1), value .5 (tied).
    # K = 2, N_neg = 4; A_i = #(S >= .5) = 4 for both thresholds.
    # Rank rule: i=1: TP .5, FP (4-1)/4 = .75;  i=2: TP 1, FP (4-2)/4 = .5
    # ROC (0,0) (.75,.5) (.5,1) (1,1), trapezoids in that order (no re-sorting):
    #   .75*.25 + (-.25)*.75 + .5*1 = .1875 - .1875 + .5 = .5
    # (Counting positives >= t instead would give (.5,1) twice and area .75.)
    s = np.array([[0.5, 0.5, 1.0], [0.5, 0.0, 0.0]])
    f = fixmap((2, 3), (0, 0), (0, 1))
    assert auc_judd(s, f, jitter=False) == 0.5


def test_auc_judd_single_fixation_by_hand():
    # S = [[0, .25], [.5, 1]], one fixation at (1,0) = .5: K = 1, N_neg = 3.
    # A1 = #(S >= .5) = 2 -> (FP, TP) = ((2-1)/3, 1). ROC (0,0) (1/3,1) (1,1):
    # area = (1/3)(1/2) + (2/3)(1) = 5/6
    s = np.array([[0.0, 0.25], [0.5, 1.0]])
    assert auc_judd(s, fixmap((2, 2), (1, 0)), jitter=False) == pytest.approx(5 / 6, abs=1e-15)


def test_auc_judd_counts_a_repeated_fixation_once():
    s = np.array([[0.0, 0.25], [0.5, 1.0]])
    f = np.array([[0, 0], [3, 0]])  # a pixel fixated three times
    assert auc_judd(s, f, jitter=False) == pytest.approx(5 / 6, abs=1e-15)


def test_auc_judd_resizes_a_prediction_of_another_size():
    # SMALL (2×2) -> 4×4 with rows of constant value [0, .25, .75, 1] after minmax.
    # Fixations at (3,0) = 1 and (1,2) = .25: K = 2, N = 16, N_neg = 14.
    # t1 = 1:   A1 = 4  -> (FP, TP) = (3/14, .5)
    # t2 = .25: A2 = 12 -> (FP, TP) = (10/14, 1)
    # area = (3/14)(.25) + (7/14)(.75) + (4/14)(1) = 10/14 = 5/7
    f = fixmap((4, 4), (3, 0), (1, 2))
    assert auc_judd(SMALL, f, jitter=False) == pytest.approx(5 / 7, abs=1e-15)


def test_auc_judd_nan_cases():
    f = fixmap((2, 2), (0, 0))
    assert math.isnan(auc_judd(np.full((2, 2), 0.3), f, jitter=False))  # constant, no jitter
    assert math.isnan(auc_judd(np.eye(2), np.zeros((2, 2)), jitter=False))  # no fixation
    assert math.isnan(auc_judd(np.eye(2), np.zeros((2, 2)), jitter=True, seed=0))
    assert math.isnan(auc_judd(np.eye(2), np.ones((2, 2)), jitter=False))  # no negatives


def test_auc_judd_jitter_on_constant_map_is_a_reproducible_random_number():
    f = fixmap((8, 8), (1, 1), (5, 6), (7, 0))
    a = auc_judd(np.zeros((8, 8)), f, jitter=True, seed=7)
    assert 0.0 <= a <= 1.0
    assert auc_judd(np.zeros((8, 8)), f, jitter=True, seed=7) == a


# --------------------------------------------------------------------------- shuffled AUC


def test_shuffled_auc_deterministic_pool_by_hand():
    # S = [[1, .25, .65], [0, .85, .45]] (already min 0, max 1).
    # Positives F: (1,1) = .85, (1,2) = .45. Pool O: (0,2) = .65, (0,1) = .25. L = K = 2,
    # so every split uses the whole pool. max = .85 -> thresholds .8, .7, ..., 0.
    #   θ:  .8  .7  .6  .5  .4  .3  .2  .1  0
    #   TP: .5  .5  .5  .5  1   1   1   1   1
    #   FP: 0   0   .5  .5  .5  .5  1   1   1
    # Area: (.5-0)*.5 [from (0,.5) to (.5,.5)] + (1-.5)*1 [from (.5,1) to (1,1)] = .75
    s = np.array([[1.0, 0.25, 0.65], [0.0, 0.85, 0.45]])
    f = fixmap((2, 3), (1, 1), (1, 2))
    o = fixmap((2, 3), (0, 2), (0, 1))
    assert shuffled_auc(s, f, o, seed=0) == pytest.approx(0.75, abs=1e-15)
    assert shuffled_auc(s, f, o, seed=99) == pytest.approx(0.75, abs=1e-15)  # L <= K


def test_shuffled_auc_coarse_step_treats_values_in_one_bin_as_tied():
    # One positive .85 and one negative .82 (single fixation, L = K = 1): both lie in
    # [.8, .9), so at every threshold .8, ..., 0 TP = FP = 1 -> ROC (0,0), (1,1): area .5,
    # although the exact ROC would give 1.
    s = np.array([[1.0, 0.82, 0.0], [0.85, 0.3, 0.5]])
    assert shuffled_auc(s, fixmap((2, 3), (1, 0)), fixmap((2, 3), (0, 1))) == pytest.approx(0.5, abs=1e-15)


def test_shuffled_auc_random_splits_average_split_areas():
    # Positive .55 (K = 1); pool {.85, .25} (L = 2), k = 1 negative per split.
    # Negative .25: thresholds .5..0; TP = 1 from .5 down, FP = 1 only from .2 down
    #   -> ROC (0,0) (0,1) ... (1,1): area 1.
    # Negative .85: at θ = .8 (FP, TP) = (1, 0), at .5 (1, 1) -> area 0.
    # So the result is (#splits drawing .25) / n_splits: a multiple of 1/100 near .5.
    s = np.array([[0.0, 0.85], [0.55, 0.25]])
    f = fixmap((2, 2), (1, 0))
    o = fixmap((2, 2), (0, 1), (1, 1))
    a = shuffled_auc(s, f, o, seed=0)
    assert a * 100 == pytest.approx(round(a * 100), abs=1e-9)
    assert 0.2 < a < 0.8
    assert shuffled_auc(s, f, o, seed=0) == a  # reproducible
    many = shuffled_auc(s, f, o, n_splits=20000, seed=1)
    assert many == pytest.approx(0.5, abs=0.02)  # 5σ = 5 * 0.5/sqrt(20000) ≈ 0.018


def test_shuffled_auc_vectorised_splits_match_per_split_mit_loop():
    # Independent reference: the MIT loop, one split at a time, with the split's own
    # threshold range, drawing the same negatives (tests/support/reference_metrics.py).
    rng = np.random.default_rng(3)
    s = rng.random((12, 15))
    f = (rng.random((12, 15)) < 0.05).astype(np.uint8)
    o = rng.random((12, 15)) < 0.3
    assert shuffled_auc(s, f, o, seed=5) == pytest.approx(
        reference.sauc_loop(s, f > 0, o, 100, 5), abs=1e-14)


def test_shuffled_auc_one_fixation_against_a_large_pool_matches_the_mit_loop():
    # k = 1 negative per split out of L = 1,599 pool pixels: each split's negative is the
    # pool pixel of the smallest key (a partial sort must find exactly that one).
    rng = np.random.default_rng(8)
    s = rng.random((40, 40))
    f = fixmap((40, 40), (20, 13))
    o = f == 0
    assert shuffled_auc(s, f, o, n_splits=50, seed=2) == pytest.approx(
        reference.sauc_loop(s, f > 0, o, 50, 2), abs=1e-14)


def test_shuffled_auc_nan_cases_and_resize():
    s = np.array([[1.0, 0.25, 0.65], [0.0, 0.85, 0.45]])
    f = fixmap((2, 3), (1, 1))
    o = fixmap((2, 3), (0, 2))
    assert math.isnan(shuffled_auc(s, np.zeros((2, 3)), o))  # no fixation
    assert math.isnan(shuffled_auc(s, f, np.zeros((2, 3))))  # empty pool
    assert math.isnan(shuffled_auc(np.full((2, 3), 9.0), f, o))  # constant map
    # Resize: SMALL -> rows [0, .25, .75, 1]. Positive (3,0) = 1, pool (0,0) = 0:
    # thresholds 1..0: TP = 1 everywhere, FP = 1 only at θ = 0 -> area 1.
    assert shuffled_auc(SMALL, fixmap((4, 4), (3, 0)), fixmap((4, 4), (0, 0))) == 1.0
    with pytest.raises(ValueError, match="other_fixations"):
        shuffled_auc(s, f, np.zeros((3, 3)))


# --------------------------------------------------------------------------- NSS


def test_nss_by_hand_uses_sample_std():
    # S = [[0,1],[2,3]]: mean 1.5; std(ddof=1) = sqrt((2.25+.25+.25+2.25)/3) = sqrt(5/3).
    # Fixations at (1,1) = 3 and (1,0) = 2: mean z = ((1.5 + .5)/2)/sqrt(5/3) = sqrt(3/5).
    # (The population std would give 1/sqrt(1.25) = 0.894.)
    s = np.array([[0.0, 1.0], [2.0, 3.0]])
    f = fixmap((2, 2), (1, 1), (1, 0))
    assert nss(s, f) == pytest.approx(math.sqrt(3 / 5), abs=1e-15)
    assert nss(s.astype(np.uint8), f) == pytest.approx(math.sqrt(3 / 5), abs=1e-14)  # x/255
    repeated = np.array([[0, 0], [7, 2]])  # values > 1 in F: each pixel still counts once
    assert nss(s, repeated) == pytest.approx(math.sqrt(3 / 5), abs=1e-15)


def test_nss_single_fixation_and_resize():
    # Single fixation at (1,1): z = 1.5/sqrt(5/3).
    s = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert nss(s, fixmap((2, 2), (1, 1))) == pytest.approx(1.5 / math.sqrt(5 / 3), abs=1e-15)
    # SMALL resized to 4×4: rows r (4 pixels each), mean .5, deviations ±.59375, ±.296875:
    # sum of squares = 4 * 2 * (.59375² + .296875²) = 3.525390625; var = that / 15.
    # Fixation at (3,0): z = .59375 / sqrt(3.525390625 / 15).
    expected = 0.59375 / math.sqrt(3.525390625 / 15)
    assert nss(SMALL, fixmap((4, 4), (3, 0))) == pytest.approx(expected, abs=1e-14)


def test_nss_nan_cases():
    assert math.isnan(nss(np.full((3, 3), 0.2), fixmap((3, 3), (1, 1))))  # constant map
    assert math.isnan(nss(np.eye(3), np.zeros((3, 3))))  # no fixation
    assert math.isnan(nss(np.full((2, 2), 0.2), fixmap((4, 4), (1, 1))))  # constant, resized


# --------------------------------------------------------------------------- CC


def test_cc_by_hand():
    # a = S - 1.5 = [-1.5, -.5, .5, 1.5], b = G - 1.5 = [-1.5, -.5, 1.5, .5]
    # sum ab = 2.25 + .25 + .75 + .75 = 4; sum a² = sum b² = 5 -> CC = 4/5.
    s = np.array([[0.0, 1.0], [2.0, 3.0]])
    g = np.array([[0.0, 1.0], [3.0, 2.0]])
    assert cc(s, g) == pytest.approx(0.8, abs=1e-15)
    assert cc(s.astype(np.uint8), g.astype(np.uint8)) == pytest.approx(0.8, abs=1e-14)
    assert cc(s * 7 + 3, g) == pytest.approx(0.8, abs=1e-15)  # prior rescaling irrelevant


def test_cc_resizes_prediction_to_density_size():
    # SMALL -> 4×4 rows r; G rows [0,1,2,3] (each row constant). Centred:
    # a = ±.59375, ±.296875 and b = ±1.5, ±.5 per row (×4 columns, which cancel):
    # CC = (2*(.59375*1.5) + 2*(.296875*.5)) / sqrt(2*(.59375²+.296875²) * 2*(1.5²+.5²))
    g = np.repeat(np.arange(4.0)[:, None], 4, axis=1)
    num = 2 * (0.59375 * 1.5) + 2 * (0.296875 * 0.5)
    den = math.sqrt(2 * (0.59375**2 + 0.296875**2) * 2 * (1.5**2 + 0.5**2))
    assert cc(SMALL, g) == pytest.approx(num / den, abs=1e-14)


def test_cc_nan_for_constant_or_empty_maps():
    s = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert math.isnan(cc(np.full((2, 2), 0.5), s))
    assert math.isnan(cc(s, np.full((2, 2), 0.5)))
    assert math.isnan(cc(s, np.zeros((2, 2))))
    assert math.isnan(cc(np.zeros((2, 2)), s))


# --------------------------------------------------------------------------- SIM


def test_sim_by_hand():
    # S = [[0,1],[2,3]] -> minmax [0, 1/3, 2/3, 1] -> /2 -> [0, 1/6, 1/3, 1/2]
    # G = [[0,0],[1,1]] -> minmax same -> /2 -> [0, 0, 1/2, 1/2]
    # min -> [0, 0, 1/3, 1/2], sum = 5/6
    s = np.array([[0.0, 1.0], [2.0, 3.0]])
    g = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert sim(s, g) == pytest.approx(5 / 6, abs=1e-15)
    assert sim(s.astype(np.uint8), (g * 255).astype(np.uint8)) == pytest.approx(5 / 6, abs=1e-15)


def test_sim_minmax_normalises_a_map_with_positive_minimum():
    # [[1,2],[3,4]] min-max normalises to the same map as [[0,1],[2,3]]: SIM = 5/6 again.
    # (Only dividing by the sum, as pysaliency does, would give 1/10 + 2/10 + ... -> 0.7.)
    s = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert sim(s, g) == pytest.approx(5 / 6, abs=1e-15)


def test_sim_edge_cases():
    g = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert sim(np.zeros((2, 2)), g) == 0.0  # all-zero prediction
    assert sim(np.array([[0.0, 1.0], [2.0, 3.0]]), np.zeros((2, 2))) == 0.0  # image without fixations
    assert math.isnan(sim(np.full((2, 2), 0.4), g))  # constant non-zero prediction
    assert math.isnan(sim(g, np.full((2, 2), 0.4)))  # constant non-zero density
    assert sim(np.zeros((3, 3)), g) == 0.0  # all-zero, resized


def test_sim_resizes_prediction_to_density_size():
    # SMALL -> rows [0, .25, .75, 1] after minmax (×4 columns), sum 8 -> rows /8.
    # G rows [0, 0, 1, 1] -> minmax same, sum 8 -> rows [0, 0, 1/8, 1/8].
    # min per row: [0, 0, .75/8, 1/8]; ×4 columns -> 4 * 1.75/8 = .875
    g = np.repeat(np.array([0.0, 0.0, 1.0, 1.0])[:, None], 4, axis=1)
    assert sim(SMALL, g) == pytest.approx(0.875, abs=1e-15)


# --------------------------------------------------------------------------- GT builders


def test_fixation_density_is_the_mit_fourier_gaussian():
    # One fixation at (50, 30) of a 100×60 map: n = 128. The filter exp(-|f|²/s²),
    # s² = 64/ln 2, sampled at integer cycles, inverts (Poisson summation; aliasing
    # ~exp(-π² s²) is nil) to (π s²/n²) exp(-π² s² d²/n²), d the distance in pixels:
    # a Gaussian of σ = n sqrt(ln 2)/(8π sqrt 2) = 0.0234 n.
    g = fixation_density(fixmap((100, 60), (50, 30)))
    assert g.shape == (100, 60)
    s2 = 64 / math.log(2)
    rows, cols = np.mgrid[:100, :60]
    d2 = (rows - 50) ** 2 + (cols - 30) ** 2
    expected = math.pi * s2 / 128**2 * np.exp(-math.pi**2 * s2 * d2 / 128**2)
    np.testing.assert_allclose(g, expected, rtol=0, atol=1e-15)
    sigma = 128 * math.sqrt(math.log(2)) / (8 * math.pi * math.sqrt(2))
    assert sigma == pytest.approx(0.0234 * 128, rel=2e-3)  # docs/metrics.md rounds σ to 0.0234·n


def test_fixation_density_filters_circularly_on_the_padded_grid():
    # A fixation at column 0 of a 4×4 map (n = 4) leaks into the last column through the
    # circular wrap; the total over the full n×n grid is the DC gain 1 per fixation.
    g = fixation_density(fixmap((4, 4), (1, 0)))
    assert g[1, 3] == pytest.approx(g[1, 1], rel=1e-12)
    assert g.sum() == pytest.approx(1.0, abs=1e-12)  # here the grid is the image


def test_other_fixations_map_scales_coordinates_and_excludes_the_image():
    # Three images: 0 is 4×4, 1 is 2×2, 2 is 8×4 (H×W).
    # Image 1's fixation (y, x) = (1, 1) -> in image 0: (floor(1*4/2), floor(1*4/2)) = (2, 2).
    # Image 2's fixation (5, 3) -> (floor(5*4/8), floor(3*4/4)) = (2, 3).
    # Float coordinates: image 1's (0.4, 1.7) -> (floor(.8), floor(3.4)) = (0, 3).
    # Image 0's own fixation (3, 3) must never appear.
    image_index = np.array([0, 1, 2, 1])
    y = np.array([3, 1, 5, 0.4])
    x = np.array([3, 1, 3, 1.7])
    shapes = np.array([[4, 4], [2, 2], [8, 4]])
    o = other_fixations_map(0, image_index, y, x, shapes, n_other=10, seed=0)
    expected = np.zeros((4, 4), dtype=bool)
    expected[2, 2] = expected[2, 3] = expected[0, 3] = True
    np.testing.assert_array_equal(o, expected)
    # n_other = 1: one of the two other images, chosen reproducibly.
    one = other_fixations_map(0, image_index, y, x, shapes, n_other=1, seed=4)
    assert one.sum() in (1, 2) and not one[3, 3]
    np.testing.assert_array_equal(one, other_fixations_map(0, image_index, y, x, shapes, n_other=1, seed=4))


# --------------------------------------------------------------------------- evaluator


def test_fixation_evaluator_matches_per_image_functions_and_counts_nan():
    s1 = np.array([[60, 20, 40], [10, 50, 30]], dtype=np.uint8)
    f1 = fixmap((2, 3), (1, 1), (0, 1))
    g1 = np.array([[0, 0, 255], [0, 255, 0]], dtype=np.uint8)
    o1 = fixmap((2, 3), (0, 0), (1, 0))
    s2 = np.full((2, 3), 9, dtype=np.uint8)  # constant: every metric NaN
    ev = FixationEvaluator(jitter=False)
    r1 = ev.step(s1, f1, density=g1, other_fixations=o1)
    r2 = ev.step(s2, f1, density=g1)
    assert r1["auc_judd"] == 0.6875
    assert r1["nss"] == nss(s1, f1) and r1["cc"] == cc(s1, g1) and r1["sim"] == sim(s1, g1)
    assert r1["sauc"] == shuffled_auc(s1, f1, o1, seed=(0, 0, 1))
    assert all(math.isnan(v) for v in r2.values())
    res = ev.get_results()
    assert res["n_images"] == 2
    assert res["nss"] == r1["nss"]  # nanmean skips image 2
    assert res["nan_count"] == {"auc_judd": 1, "sauc": 1, "nss": 1, "cc": 1, "sim": 1}
    assert res["per_image"]["cc"][0] == r1["cc"] and math.isnan(res["per_image"]["cc"][1])
    json.loads(json.dumps(res))  # plain floats and lists


def test_fixation_evaluator_is_reproducible_and_quantises_float_maps():
    rng = np.random.default_rng(0)
    sal = rng.random((10, 12))
    f = (rng.random((10, 12)) < 0.1).astype(np.uint8)
    o = rng.random((10, 12)) < 0.5
    runs = []
    for _ in range(2):
        ev = FixationEvaluator(seed=3)
        runs.append(ev.step(sal, f, other_fixations=o))
    assert runs[0] == runs[1]
    ev = FixationEvaluator(seed=3)
    quantised = np.rint(255 * sal).astype(np.uint8)  # round(255 * clip(p, 0, 1))
    assert ev.step(quantised, f, other_fixations=o) == runs[0]
    # density=None builds G from the fixations (§A.6).
    assert runs[0]["cc"] == cc(quantised, fixation_density(f))


def test_metrics_package_imports_without_keras_or_tensorflow():
    code = (
        "import sys, asnet_keras.metrics; "
        "bad = [m for m in ('keras', 'tensorflow', 'py_sod_metrics') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_auc_judd_matches_a_plain_mit_loop_on_a_map_with_many_ties():
    # Independent reference: the MIT loop, one threshold at a time, on an 8-level map
    # (many ties) with jitter off, and with the documented jitter (§A.1: uniform noise
    # in [0, 1e-7) from the seed, added to the map), which orders the ties.
    rng = np.random.default_rng(11)
    s = rng.integers(0, 8, (12, 15)).astype(np.float64)
    f = (rng.random((12, 15)) < 0.15).astype(np.uint8)
    assert auc_judd(s, f, jitter=False) == pytest.approx(reference.auc_judd_loop(s, f > 0),
                                                         abs=1e-14)
    jittered = reference.auc_judd_loop(s, f > 0, jitter_seed=7)
    assert jittered != pytest.approx(reference.auc_judd_loop(s, f > 0), abs=1e-3)
    assert auc_judd(s, f, jitter=True, seed=7) == pytest.approx(jittered, abs=1e-14)


# ------------------------------------------------------------------ edges, by hand
# (the mutants mutation testing planted here, docs/testing.md §3)


def test_evaluator_records_its_settings_in_the_results():
    from asnet_keras.metrics import FixationEvaluator

    evaluator = FixationEvaluator(jitter=False, n_splits=7, seed=3, quantize=False)
    assert evaluator.get_results()["config"] == {
        "jitter": False, "n_splits": 7, "seed": 3, "quantize": False,
        "resize": "matlab_imresize bicubic (docs/metrics.md §A.0)"}


def test_other_fixations_are_scaled_and_clipped_into_the_frame():
    from asnet_keras.metrics import other_fixations_map

    # image 0 is 4 × 6; image 1 (8 × 3) has fixations at its corners and outside
    shapes = [(4, 6), (8, 3)]
    image_index = [0, 1, 1, 1, 1]
    y = [1.0, 0.0, 7.9, -2.0, 9.0]
    x = [1.0, 0.0, 2.9, -1.0, 5.0]
    out = other_fixations_map(0, image_index, y, x, shapes, seed=0)
    assert out.dtype == bool and out.shape == (4, 6)
    # (7.9·4/8, 2.9·6/3) = (3.95, 5.8) → (3, 5); (−1, −2) → (0, 0); (4.5, 10) → (3, 5)
    assert sorted(zip(*np.nonzero(out), strict=True)) == [(0, 0), (3, 5)]
    # image 1 (4 × 2) fixated at (3.5, 1) lands on (3.5·2/4, 1·2/2) = (1.75, 1) → (1, 1)
    assert other_fixations_map(0, [0, 1], [0.0, 3.5], [0.0, 1.0], [(2, 2), (4, 2)]).tolist() == [
        [False, False], [False, True]]
    with pytest.raises(ValueError, match=r"^image 2 is not in a table of 2 images$"):
        other_fixations_map(2, image_index, y, x, shapes)
    with pytest.raises(ValueError, match=r"one entry per fixation, got shapes \(2,\), \(1,\), "
                                         r"\(1,\)"):
        other_fixations_map(0, [1, 1], [0.0], [0.0], shapes)


def test_maps_are_read_as_documented_and_shapes_are_named():
    from asnet_keras.metrics.fixation import as_float_map

    as_read = as_float_map(np.array([[0, 51, 255]], np.uint8))  # uint8: x / 255
    assert as_read.dtype == np.float64 and as_read.tolist() == [[0.0, 0.2, 1.0]]
    assert as_float_map(np.array([[0.5, 3.0]], np.float32)).tolist() == [[0.5, 3.0]]  # values
    assert as_float_map(np.array([[True, False]])).tolist() == [[1.0, 0.0]]
    with pytest.raises(ValueError, match=r"^expected a 2-D map, got shape \(2, 2, 3\); pass "
                                         r"one channel \(H×W\)$"):
        nss(np.zeros((2, 2, 3)), fixmap((2, 2), (0, 0)))
    with pytest.raises(ValueError, match=r"^expected a 2-D fixation map, got shape "
                                         r"\(2, 2, 1\)$"):
        auc_judd(np.eye(2), np.zeros((2, 2, 1)))
    with pytest.raises(ValueError, match=r"^other_fixations has shape \(3, 3\) but fixations "
                                         r"has \(2, 3\); build O in this image's frame "
                                         r"\(other_fixations_map does\)$"):
        shuffled_auc(np.eye(2, 3), fixmap((2, 3), (0, 0)), np.zeros((3, 3)))


def test_undefined_results_are_nan_without_an_error_or_a_warning():
    g = np.array([[0.0, 0.0], [1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(cc(np.zeros((0, 0)), g))  # an empty prediction
        # 1e12 + noise below 1e-7 is still 1e12: the jitter cannot break the ties
        assert math.isnan(auc_judd(np.full((2, 2), 1e12), fixmap((2, 2), (0, 0)), seed=0))
        # [[0, 1]] resized to 2×1 is 0.5 everywhere (the column pair averages): constant
        assert math.isnan(nss(np.array([[0.0, 1.0]]), fixmap((2, 1), (0, 0))))
        # a constant map resized to 3×3 differs from constant by round-off (5.6e-17): still
        # undefined, decided before the resize
        assert math.isnan(sim(np.full((2, 2), 0.3), np.repeat(np.arange(3.0)[:, None], 3, 1)))


def test_auc_judd_jitters_by_default():
    # A constant map is undefined without jitter, a number in [0, 1] with it.
    a = auc_judd(np.zeros((8, 8)), fixmap((8, 8), (1, 1), (5, 6)))
    assert 0.0 <= a <= 1.0


def test_nss_of_a_two_pixel_map_by_hand():
    # S = [[0, 1]]: mean 0.5, std (ddof 1) = sqrt(0.25 + 0.25) = sqrt(0.5); z(1) = 0.5 / sqrt(0.5)
    assert nss(np.array([[0.0, 1.0]]), fixmap((1, 2), (0, 1))) == pytest.approx(
        math.sqrt(0.5), abs=1e-15)


def test_shuffled_auc_includes_the_top_threshold_and_counts_values_on_a_threshold():
    # S = [1, .95, .95, 0] (min 0, max 1: min-max changes nothing). Positives at 1 and .95,
    # the pool .95 alone (L = 1 <= K = 2: deterministic). Thresholds m · 0.1 from
    # m = floor(1 / 0.1) = 10 down to 0:
    #   θ = 1:       TP = 1/2 (1 >= 1), FP = 0  →  (0, .5)
    #   θ = .9 … 0:  TP = 1, FP = 1             →  (1, 1)
    # Area: (0, .5) → (1, 1) = 1 · (.5 + 1) / 2 = .75 (without θ = 1, or counting > θ,
    # the curve would go straight to (1, 1): .5).
    s = np.array([[1.0, 0.95, 0.95, 0.0]])
    assert shuffled_auc(s, fixmap((1, 4), (0, 0), (0, 1)), fixmap((1, 4), (0, 2))) == 0.75


def test_shuffled_auc_runs_its_thresholds_down_to_zero():
    # S = [1, 0, .5, .05, .15, 0]: positives .5 and .05, pool .15 and the 0 at the end
    # (L = K = 2: deterministic). top = max(.5, .15) = .5, thresholds .5, .4, …, .1, 0:
    #   θ = .5 … .2:  TP = 1/2, FP = 0    →  (0, .5)
    #   θ = .1:       TP = 1/2, FP = 1/2  →  (.5, .5)
    #   θ = 0:        TP = 1, FP = 1      →  (1, 1)
    # Area: .5 · .5 + .5 · (.5 + 1) / 2 = .625. (Stopping at θ = .2 gives .75; counting
    # negatives > θ puts (.5, 1) at θ = 0, also .75.)
    s = np.array([[1.0, 0.0, 0.5, 0.05, 0.15, 0.0]])
    f = fixmap((1, 6), (0, 2), (0, 3))
    o = fixmap((1, 6), (0, 4), (0, 5))
    assert shuffled_auc(s, f, o) == pytest.approx(0.625, abs=1e-15)
    # The map is min-max normalised first: 0.2 + 0.5 · S gives the same thresholds' counts.
    assert shuffled_auc(0.2 + 0.5 * s, f, o) == pytest.approx(0.625, abs=1e-15)


def test_fixation_density_of_a_wide_map_and_of_a_single_pixel():
    # 30×100 with one fixation at (15, 50): n = 128 (from the width), so the map is the
    # Gaussian of test_fixation_density_is_the_mit_fourier_gaussian around that pixel.
    g = fixation_density(fixmap((30, 100), (15, 50)))
    s2 = 64 / math.log(2)
    rows, cols = np.mgrid[:30, :100]
    d2 = (rows - 15) ** 2 + (cols - 50) ** 2
    np.testing.assert_allclose(g, math.pi * s2 / 128**2 * np.exp(-math.pi**2 * s2 * d2 / 128**2),
                               rtol=0, atol=1e-15)
    # 1×1: n = 1, only the DC term, whose gain is 1: the map is the fixation itself.
    one = fixation_density(np.array([[1]]))
    assert one.shape == (1, 1) and one[0, 0] == pytest.approx(1.0, abs=1e-15)
    assert fixation_density(np.zeros((0, 0))).shape == (0, 0)


def test_other_fixations_pool_ten_images_reproducibly_from_float_tables():
    # 12 images of 4×6, image i > 0 fixated once at (i // 6, i % 6) of the same frame, so
    # each pooled image marks one distinct pixel of image 0: 10 of the 11 by default.
    shapes = np.tile([4.0, 6.0], (12, 1))  # a table read as floats
    index = np.arange(1, 12, dtype=np.float64)
    y, x = index // 6, index % 6
    out = other_fixations_map(0, index, y, x, shapes, seed=5)
    assert out.sum() == 10 and not out[0, 0]
    # the seed decides which: 3 of 11 (165 choices) drawn twice alike
    three = other_fixations_map(0, index, y, x, shapes, n_other=3, seed=5)
    assert three.sum() == 3
    np.testing.assert_array_equal(three, other_fixations_map(0, index, y, x, shapes, n_other=3,
                                                             seed=5))


def test_evaluator_defaults_and_seed_check():
    assert FixationEvaluator().get_results()["config"] == {
        "jitter": True, "n_splits": 100, "seed": 0, "quantize": True,
        "resize": "matlab_imresize bicubic (docs/metrics.md §A.0)"}
    with pytest.raises(ValueError, match=r"^seed must be a non-negative int, got -1$"):
        FixationEvaluator(seed=-1)


def test_evaluator_passes_its_settings_and_per_image_seeds_to_each_metric():
    # Image i of the evaluator uses the seeds (seed, i, 0) for the jitter and (seed, i, 1)
    # for the sAUC splits (FixationEvaluator's docstring); checked on the second image of a
    # map with many ties, against the MIT loops.
    rng = np.random.default_rng(4)
    s = rng.integers(0, 4, (10, 12)).astype(np.uint8)
    f = (rng.random((10, 12)) < 0.1).astype(np.uint8)
    o = rng.random((10, 12)) < 0.5
    evaluator = FixationEvaluator(n_splits=7, seed=3)
    evaluator.step(s, f, other_fixations=o)
    second = evaluator.step(s, f, other_fixations=o)
    assert second["auc_judd"] == pytest.approx(
        reference.auc_judd_loop(s / 255, f > 0, jitter_seed=(3, 1, 0)), abs=1e-14)
    assert second["sauc"] == pytest.approx(reference.sauc_loop(s, f > 0, o, 7, (3, 1, 1)),
                                           abs=1e-14)
    # n_splits reaches sAUC: one split of the random-splits case above scores 0 or 1
    s1 = np.array([[0.0, 0.85], [0.55, 0.25]])
    one = FixationEvaluator(n_splits=1, quantize=False).step(
        s1, fixmap((2, 2), (1, 0)), other_fixations=fixmap((2, 2), (0, 1), (1, 1)))
    assert one["sauc"] in (0.0, 1.0)
    # quantize=False scores the float map as given: 255 · .001 and 255 · .002 round to
    # 0 and 1 in uint8, which would change NSS
    fine = np.array([[0.0, 0.001], [0.002, 1.0]])
    f2 = fixmap((2, 2), (0, 1))
    as_given = FixationEvaluator(quantize=False).step(fine, f2)["nss"]
    assert as_given == pytest.approx(reference.nss_direct(fine, f2 > 0), abs=1e-15)
    assert as_given != pytest.approx(reference.nss_direct(np.array([[0, 0], [1, 255]]), f2 > 0))
