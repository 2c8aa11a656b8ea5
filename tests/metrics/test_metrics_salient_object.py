"""Salient-object metrics (docs/metrics.md §B): hand-worked P/R/F and PySODMetrics agreement."""

import json
import math
import warnings

import cv2
import numpy as np
import pytest

from asnet_keras.metrics import SalientObjectEvaluator, f_measure, prepare_sod_inputs
from tests.support import reference_metrics as reference

EPS = np.spacing(1)

# The 2×2 example used below: P = [[255, 128], [64, 0]], GT = [[255, 255], [0, 0]].
# p = P/255 already spans [0, 1], so min-max changes nothing; q = floor(255 p) = P.
# |M| = 2, N = 4.
#   t = 0:        B = all 4 pixels  TP = 2  Prec = 1/2  Rec = 1    F = 1.3*.5/(.15+1)   = 13/23
#   t = 1..64:    B = {255,128,64}  TP = 2  Prec = 2/3  Rec = 1    F = 1.3*(2/3)/(.2+1) = 13/18
#   t = 65..128:  B = {255,128}     TP = 2  Prec = 1    Rec = 1    F = 1
#   t = 129..255: B = {255}         TP = 1  Prec = 1    Rec = 1/2  F = .65/.8          = 13/16
P4 = np.array([[255, 128], [64, 0]], dtype=np.uint8)
GT4 = np.array([[255, 255], [0, 0]], dtype=np.uint8)


def piecewise(values, lengths):
    out = np.concatenate([np.full(n, v, dtype=np.float64)
                          for v, n in zip(values, lengths, strict=True)])
    assert out.size == 256
    return out


SEGMENTS = (1, 64, 64, 127)  # t = 0 | 1..64 | 65..128 | 129..255


def evaluate(*pairs):
    ev = SalientObjectEvaluator()
    for pred, gt in pairs:
        ev.step(pred, gt)
    return ev.get_results()


def test_pr_and_f_curves_by_hand():
    r = evaluate((P4, GT4))
    curves = r["curves"]
    np.testing.assert_allclose(curves["precision"], piecewise([1 / 2, 2 / 3, 1, 1], SEGMENTS), atol=1e-15)
    np.testing.assert_allclose(curves["recall"], piecewise([1, 1, 1, 1 / 2], SEGMENTS), atol=1e-15)
    f = piecewise([13 / 23, 13 / 18, 1, 13 / 16], SEGMENTS)
    np.testing.assert_allclose(curves["F"], f, atol=1e-15)
    assert r["maxF"] == pytest.approx(1.0, abs=1e-15)
    assert r["meanF"] == pytest.approx((13 / 23 + 64 * 13 / 18 + 64 + 127 * 13 / 16) / 256, abs=1e-15)
    # One image: F(mean P, mean R) is the image's own F curve.
    assert r["maxF_PR"] == pytest.approx(r["maxF"], abs=1e-15)
    # adpF: mean p = (255 + 128 + 64)/1020 = 447/1020, θ = 894/1020 = .876 -> B = {255}:
    # I = 1, Prec = 1, Rec = 1/2 -> 13/16.
    assert r["adpF"] == pytest.approx(13 / 16, abs=1e-15)
    # MAE: |p - M| = [0, 127/255, 64/255, 0] -> mean 191/1020.
    assert r["MAE"] == pytest.approx(191 / 1020, abs=1e-15)
    assert curves["threshold"] == list(range(256))


def test_maxf_pr_convention_differs_from_maxf_on_two_images():
    # Image A: P = [[255,255],[0,0]], GT = [[255,0],[0,0]] (|M| = 1).
    #   t = 0: Prec 1/4, Rec 1 -> F = .325/1.075 = 13/43;  t >= 1: Prec 1/2, Rec 1 -> F = 13/23
    # Image B: P = [[255,0],[0,0]], GT = [[255,255],[255,0]] (|M| = 3).
    #   t = 0: Prec 3/4, Rec 1 -> F = .975/1.225 = 39/49;  t >= 1: Prec 1, Rec 1/3 -> F = 13/19
    # maxF = max over t of the mean F curve = (13/23 + 13/19)/2 = 273/437 ≈ .6247 (t >= 1)
    # maxF_PR: mean P, R at t >= 1 = (3/4, 2/3) -> F = 1.3*.5/(.225 + 2/3) = 78/107 ≈ .7290
    #          (at t = 0: (1/2, 1) -> 13/23), so maxF_PR = 78/107 > maxF.
    a = (np.array([[255, 255], [0, 0]], np.uint8), np.array([[255, 0], [0, 0]], np.uint8))
    b = (np.array([[255, 0], [0, 0]], np.uint8), np.array([[255, 255], [255, 0]], np.uint8))
    r = evaluate(a, b)
    assert r["maxF"] == pytest.approx(273 / 437, abs=1e-15)
    assert r["maxF_PR"] == pytest.approx(78 / 107, abs=1e-15)
    assert r["curves"]["F"][0] == pytest.approx((13 / 43 + 39 / 49) / 2, abs=1e-15)
    assert r["curves"]["F_PR"][0] == pytest.approx(13 / 23, abs=1e-15)
    assert "mean precision, mean recall" in r["conventions"]["maxF_PR"]


def test_f_measure_helper_zero_numerator():
    np.testing.assert_allclose(f_measure([0.0, 0.5, 1.0], [0.0, 1.0, 0.5]), [0.0, 13 / 23, 13 / 16], atol=1e-15)


def test_empty_mask_reference_behaviour():
    # docs/metrics.md §B.7, empty GT: F = 0 at every t, adpF = 0, MAE = mean p = 447/1020,
    # S = 1 - mean p, E_t = #(not B_t)/(N - 1 + EPS) = 0, 1/3, 2/3, 3/3 on the four
    # threshold ranges, wF = 0.
    r = evaluate((P4, np.zeros((2, 2), np.uint8)))
    assert r["maxF"] == 0 and r["meanF"] == 0 and r["adpF"] == 0 and r["wF"] == 0
    assert r["MAE"] == pytest.approx(447 / 1020, abs=1e-15)
    assert r["S"] == pytest.approx(1 - 447 / 1020, abs=1e-15)
    e = piecewise([0, 1, 2, 3], SEGMENTS) / (3 + EPS)
    np.testing.assert_allclose(r["curves"]["E"], e, atol=1e-15)
    assert r["maxE"] == pytest.approx(1.0, abs=1e-15)
    assert r["meanE"] == pytest.approx(e.mean(), abs=1e-15)


def test_full_mask_reference_behaviour():
    # Full GT: Prec = 1 at every t (B_t never empty, q max = 255), Rec = |B_t|/4:
    #   1, 3/4, 1/2, 1/4 -> F = 1, .975/1.05 = 13/14, 13/16, .325/.55 = 13/22.
    # MAE = mean(1 - p) = 573/1020, S = mean p = 447/1020, E_t = #B_t/(N-1) = 4/3, 1, 2/3, 1/3.
    r = evaluate((P4, np.full((2, 2), 255, np.uint8)))
    np.testing.assert_allclose(r["curves"]["precision"], 1.0, atol=1e-15)
    np.testing.assert_allclose(r["curves"]["F"], piecewise([1, 13 / 14, 13 / 16, 13 / 22], SEGMENTS), atol=1e-15)
    assert r["MAE"] == pytest.approx(573 / 1020, abs=1e-15)
    assert r["S"] == pytest.approx(447 / 1020, abs=1e-15)
    np.testing.assert_allclose(r["curves"]["E"], piecewise([4, 3, 2, 1], SEGMENTS) / (3 + EPS), atol=1e-15)


def test_all_zero_prediction():
    # p = 0 (constant, not normalised), q = 0: only t = 0 has B non-empty:
    # F_0 = 1.3*(1/2)/(.3*(1/2) + 1) = 13/23, F_t = 0 for t > 0; adpF: θ = 0 -> 13/23;
    # MAE = |M|/N = 1/2.
    r = evaluate((np.zeros((2, 2), np.uint8), GT4))
    np.testing.assert_allclose(r["curves"]["F"], piecewise([13 / 23, 0, 0, 0], SEGMENTS), atol=1e-15)
    assert r["adpF"] == pytest.approx(13 / 23, abs=1e-15)
    assert r["MAE"] == 0.5


def test_constant_prediction_is_not_normalised():
    # P = 77 everywhere: p = 77/255, q = 77. For t <= 77, B = all -> F = 13/23; above, 0.
    # adpF: θ = 154/255 > p -> B empty -> 0. MAE = (2*(178/255) + 2*(77/255))/4 = 1/2.
    r = evaluate((np.full((2, 2), 77, np.uint8), GT4))
    f = np.where(np.arange(256) <= 77, 13 / 23, 0.0)
    np.testing.assert_allclose(r["curves"]["F"], f, atol=1e-15)
    assert r["meanF"] == pytest.approx(78 * (13 / 23) / 256, abs=1e-15)
    assert r["adpF"] == 0.0
    assert r["MAE"] == pytest.approx(0.5, abs=1e-15)
    p, _ = prepare_sod_inputs(np.full((2, 2), 77, np.uint8), GT4)
    np.testing.assert_array_equal(p, 77 / 255)


def test_gt_threshold_is_strictly_above_128():
    _, m = prepare_sod_inputs(P4, np.array([[128, 129], [0, 255]], np.uint8))
    np.testing.assert_array_equal(m, [[False, True], [False, True]])


def test_float_prediction_is_rounded_to_uint8_first():
    # round(255 * clip(p, 0, 1)): -.1 -> 0, .5 -> 127.5 -> 128 (half to even), 1.2 -> 255,
    # .3 -> 76.5 -> 76 (half to even).
    pf = np.array([[-0.1, 0.5], [1.2, 0.3]])
    pu = np.array([[0, 128], [255, 76]], np.uint8)
    p_float, _ = prepare_sod_inputs(pf, GT4)
    p_uint8, _ = prepare_sod_inputs(pu, GT4)
    np.testing.assert_array_equal(p_float, p_uint8)
    assert evaluate((pf, GT4)) == evaluate((pu, GT4))


def test_prediction_of_other_size_is_resized_bilinear_on_uint8_and_channel_0_is_used():
    rng = np.random.default_rng(0)
    pred = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    gt = (rng.random((10, 14)) > 0.5).astype(np.uint8) * 255
    resized = cv2.resize(pred, (14, 10), interpolation=cv2.INTER_LINEAR)
    expected = evaluate((resized, gt))
    rgb = np.stack([pred, 255 - pred, pred // 2], axis=-1)
    assert evaluate((pred, gt)) == expected
    assert evaluate((rgb, np.stack([gt] * 3, axis=-1))) == expected


def test_s_measure_nan_for_zero_area_block_is_counted():
    # One-pixel object in the bottom-right corner: centroid (2, 2) -> cy = cx = 3 = H = W,
    # so three of the four blocks are empty and the reference gives NaN (docs/metrics.md §B.4).
    gt = np.zeros((3, 3), np.uint8)
    gt[2, 2] = 255
    pred = np.arange(9, dtype=np.uint8).reshape(3, 3) * 30
    ev = SalientObjectEvaluator()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning leaks out
        first = ev.step(pred, gt)
    top_left = np.zeros((3, 3), np.uint8)
    top_left[:2, :2] = 255  # centroid (.5, .5) -> round half to even 0 -> cy = cx = 1
    second = ev.step(pred, top_left)
    assert math.isnan(first["S"]) and not math.isnan(second["S"])
    r = ev.get_results()
    assert r["nan_count"]["S"] == 1
    assert r["S"] == second["S"]
    assert math.isnan(r["per_image"]["S"][0])
    json.loads(json.dumps(r))


def test_wrapper_agrees_with_py_sod_metrics_called_directly():
    rng = np.random.default_rng(1)
    pairs = []
    for i in range(6):
        h, w = 30 + i, 40 - i
        blur = cv2.GaussianBlur(rng.random((h, w)), (0, 0), 3)
        pred = (255 * (blur - blur.min()) / (blur.max() - blur.min()) * (0.5 + 0.1 * i)).astype(np.uint8)
        gt = ((blur > np.median(blur)) * 255).astype(np.uint8)
        pairs.append((pred, gt))
    pairs.append((pairs[0][0], np.zeros_like(pairs[0][1])))  # empty mask
    pairs.append((pairs[1][0], np.full_like(pairs[1][1], 255)))  # full mask
    pairs.append((np.full_like(pairs[2][0], 77), pairs[2][1]))  # constant prediction
    ours = evaluate(*pairs)
    ref = reference.pysod_reference(pairs)
    for key in ("maxF", "meanF", "adpF", "maxF_PR", "MAE", "S", "maxE", "meanE", "adpE",
                "wF"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-6), key
    for key in ("precision", "recall", "E"):
        np.testing.assert_allclose(ours["curves"][key], ref[key], rtol=0, atol=1e-6)
    assert ours["n_images"] == len(pairs)
    assert set(ours["nan_count"].values()) == {0}


def test_evaluator_memory_is_flat_and_results_are_json():
    ev = SalientObjectEvaluator()
    for _ in range(5):
        ev.step(P4, GT4)
    # PySODMetrics' own per-image lists are drained after every step.
    assert ev._fm.precisions == [] and ev._em.changeable_ems == [] and ev._wfm.weighted_fms == []
    r = ev.get_results()
    assert len(r["per_image"]["MAE"]) == 5
    text = json.dumps(r)
    assert json.loads(text)["maxF_PR"] == pytest.approx(r["maxF_PR"])
    with pytest.raises(ValueError, match="before any step"):
        SalientObjectEvaluator().get_results()


def test_to_uint8_rules_and_unit_errors():
    from asnet_keras.metrics import to_uint8

    np.testing.assert_array_equal(to_uint8(np.array([[True, False]])), [[255, 0]])
    np.testing.assert_array_equal(to_uint8(np.array([[0, 129, 255]], np.int64)), [[0, 129, 255]])
    np.testing.assert_array_equal(to_uint8(np.array([[1.05, 0.002]])), [[255, 1]])  # 0.51 -> 1
    with pytest.raises(ValueError, match="0-255 map"):
        to_uint8(np.array([[0.0, 200.0]]))
    with pytest.raises(ValueError, match="grey levels"):
        to_uint8(np.array([[0, 256]]))
    # An int mask in 0/255 (e.g. from np.where) is read as grey levels, not as [0, 1].
    _, m = prepare_sod_inputs(P4, np.where(GT4 > 0, 255, 0))
    np.testing.assert_array_equal(m, GT4 > 128)


def test_inputs_are_checked_and_named():
    with pytest.raises(ValueError, match=r"^pred must be H×W or H×W×C, got shape \(4,\)$"):
        prepare_sod_inputs(np.zeros(4, np.uint8), GT4)
    with pytest.raises(ValueError, match=r"^gt must be H×W or H×W×C, got shape \(1, 2, 2, 1\)$"):
        prepare_sod_inputs(P4, GT4[None, ..., None])
    with pytest.raises(ValueError, match=r"^SalientObjectEvaluator\.get_results\(\) called "
                                         r"before any step\(\)$"):
        SalientObjectEvaluator().get_results()


def test_prediction_with_a_positive_minimum_is_min_max_normalised():
    # P / 255 = [1, .2, .6, .4]: (p - .2) / (1 - .2) = [1, 0, .5, .25]
    p, _ = prepare_sod_inputs(np.array([[255, 51], [153, 102]], np.uint8), GT4)
    np.testing.assert_allclose(p, [[1.0, 0.0], [0.5, 0.25]], rtol=0, atol=1e-15)


def test_a_library_list_not_drained_is_an_error_naming_it():
    ev = SalientObjectEvaluator()
    ev._fm.precisions.append(np.zeros(256))  # as if an earlier step had not been taken out
    with pytest.raises(RuntimeError, match=r"^unexpected state in Fmeasure\.precisions$"):
        ev.step(P4, GT4)


def test_s_measure_zero_area_block_is_nan_under_a_callers_raise_on_error_setting():
    # A caller may run with np.seterr(all="raise"); the §B.4 edge case (the mean of an
    # empty block, 0 / 0) is still a NaN counted, not a FloatingPointError.
    gt = np.zeros((3, 3), np.uint8)
    gt[2, 2] = 255
    pred = np.arange(9, dtype=np.uint8).reshape(3, 3) * 30
    with np.errstate(all="raise"):
        assert math.isnan(SalientObjectEvaluator().step(pred, gt)["S"])


def test_f_measure_computes_in_float64_whatever_it_is_given():
    # F = 1.3 · P · R / (0.3 · P + R), worked in Python floats (doubles) from the float32
    # values themselves; a float32 intermediate would be off by ~1e-8 relative.
    p32, r32 = np.array([0.7, 0.1], np.float32), np.array([0.3, 0.9], np.float32)
    expected = [1.3 * float(p) * float(r) / (0.3 * float(p) + float(r))
                for p, r in zip(p32, r32, strict=True)]
    got = f_measure(p32, r32)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
