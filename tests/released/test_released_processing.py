"""main.py's pre- and post-processing (docs/released_model.md §4) without SciPy's imresize."""

import numpy as np
import pytest

from asnet_keras.inference.released_processing import (
    bytescale,
    pillow_bilinear_resize,
    released_postprocess,
    released_preprocess,
)


def test_bilinear_downscale_of_a_known_row():
    # 4 → 2 pixels: scale 2, triangle filter widened to support 2. Output 0 is centred at
    # 1.0 and weighs pixels 0, 1, 2 by 0.75, 0.75, 0.25 (/1.75); output 1 is centred at
    # 3.0 and weighs pixels 1, 2, 3 by 0.25, 0.75, 0.75 (/1.75).
    row = np.array([[0, 100, 200, 50]], np.uint8)
    expected = [round((0 * 3 + 100 * 3 + 200) / 7), round((100 + 200 * 3 + 50 * 3) / 7)]
    assert expected == [71, 121]
    np.testing.assert_array_equal(pillow_bilinear_resize(row, (1, 2)), [expected])
    np.testing.assert_array_equal(pillow_bilinear_resize(row.T, (2, 1)), np.array([expected]).T)


def test_constant_image_stays_constant():
    image = np.full((37, 53, 3), 77, np.uint8)
    np.testing.assert_array_equal(pillow_bilinear_resize(image, (224, 224)), 77)


@pytest.mark.parametrize(
    "shape, size",
    [((300, 400, 3), (224, 224)), ((181, 97), (224, 224)), ((224, 224), (375, 500)), ((50, 60, 3), (50, 23))],
)
def test_resize_equals_pillow_horizontal_then_vertical(shape, size):
    image_module = pytest.importorskip("PIL.Image")
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape).astype(np.uint8)
    height, width = size
    # Pillow < 13 always ran the horizontal pass first (what main.py ran in 2017); Pillow
    # 13 may pick the vertical one first. Two single-axis Pillow resizes pin the order.
    pil = image_module.fromarray(image)
    pil = pil.resize((width, shape[0]), image_module.BILINEAR)
    pil = pil.resize((width, height), image_module.BILINEAR)
    np.testing.assert_array_equal(pillow_bilinear_resize(image, size), np.asarray(pil))


def test_bytescale_is_scipys():
    np.testing.assert_array_equal(bytescale(np.array([3, 250], np.uint8)), [3, 250])
    # (v − min)·255/(max − min), then + 0.5 and truncation.
    np.testing.assert_array_equal(bytescale(np.array([1.0, 1.5, 2.0, 1.25])), [0, 128, 255, 64])
    np.testing.assert_array_equal(bytescale(np.full(3, 0.3)), [0, 0, 0])


def test_preprocess_colour_is_resized_unscaled():
    image = np.random.default_rng(0).integers(0, 256, (120, 90, 3)).astype(np.uint8)
    out = released_preprocess(image)
    assert out.shape == (224, 224, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, pillow_bilinear_resize(image, (224, 224)))
    np.testing.assert_array_equal(released_preprocess(np.dstack([image, image[..., :1]])), out)


def test_preprocess_greyscale_is_stretched_and_stacked():
    grey = np.random.default_rng(1).integers(50, 151, (224, 224)).astype(np.uint8)
    grey[0, 0], grey[0, 1] = 50, 150
    out = released_preprocess(grey)
    # SciPy's order of operations: (v − min) · (255 / (max − min)), + 0.5, truncate.
    expected = np.floor((grey.astype(np.float64) - 50) * (255 / 100) + 0.5)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], expected)


def test_postprocess_known_map():
    # Same size: bytescale [0, .5, .25, 1] → [0, 128, 64, 255]; /255·255 truncated; bytescale.
    saliency = np.array([[0.0, 0.5], [0.25, 1.0]], np.float32)
    np.testing.assert_array_equal(released_postprocess(saliency, (2, 2)), [[0, 128], [64, 255]])
    # A map whose maximum is low is still stretched to 0…255.
    np.testing.assert_array_equal(
        released_postprocess(np.array([[0.25, 0.5], [0.375, 0.75]])[..., None], (2, 2)),
        [[0, 128], [64, 255]],
    )


def test_postprocess_resizes_and_stretches():
    saliency = np.random.default_rng(2).uniform(0.1, 0.4, (224, 224))
    out = released_postprocess(saliency, (333, 500))
    assert out.shape == (333, 500) and out.dtype == np.uint8
    assert out.min() == 0 and out.max() == 255
    resized = pillow_bilinear_resize(bytescale(saliency), (333, 500)).astype(np.float64)
    stretched = (resized / resized.max() * 255).astype(np.int64)
    expected = np.floor((stretched - stretched.min()) * (255 / np.ptp(stretched)) + 0.5)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(released_postprocess(np.zeros((224, 224)), (5, 6)), 0)


def test_bytescale_of_a_float32_map_rounds_in_float32():
    # A map whose middle value lands just below .5 in float32 arithmetic and just above
    # it in float64 (docs/released_pipeline.md §4); main.py's SciPy computed in float32.
    low, value, high = (
        np.float32(float.fromhex(h)) for h in ("0x1.2d6c52p-2", "0x1.dae57ap-1", "0x1.f73c94p-1")
    )
    span = high - low  # float32 subtraction
    scale = np.float32(255.0 / float(span))  # divided in float64, rounded to float32
    in_float32 = (value - low) * scale
    in_float64 = (float(value) - float(low)) * (255.0 / (float(high) - float(low)))
    assert in_float32.dtype == np.float32
    assert in_float32 < 234.5 < in_float64
    assert int(in_float32 + np.float32(0.5)) == 234 and int(in_float64 + 0.5) == 235

    saliency = np.array([[low, value, high]], np.float32)
    np.testing.assert_array_equal(bytescale(saliency), [[0, 234, 255]])
    np.testing.assert_array_equal(bytescale(saliency.astype(np.float64)), [[0, 235, 255]])
    # main.py's post-processing of that map at its own size keeps the float32 answer.
    np.testing.assert_array_equal(released_postprocess(saliency, (1, 3)), [[0, 234, 255]])


def test_bytescale_arguments_and_integer_arrays():
    # Integer arrays are computed in float64: (v − 10)·255/20 + 0.5, truncated.
    np.testing.assert_array_equal(bytescale(np.array([10, 15, 30], np.int64)), [0, 64, 255])
    np.testing.assert_array_equal(bytescale(np.array([10, 15, 30], np.uint16)), [0, 64, 255])
    # cmin/cmax/high/low as SciPy: (v − 0)·(200 − 100)/40 + 100, clipped to 100…200.
    np.testing.assert_array_equal(
        bytescale(np.array([0.0, 10.0, 50.0]), cmin=0, cmax=40, high=200, low=100),
        [100, 125, 200],
    )
    with pytest.raises(ValueError, match="low <= high"):
        bytescale(np.array([1.0, 2.0]), high=300)


# ------------------------------------------------------------------ edges, by hand
# (the mutants mutation testing planted here, docs/testing.md §3)


def test_bytescale_ranges_and_explicit_limits():
    # low == high is allowed: everything maps there
    assert bytescale(np.array([0.0, 1.0]), high=7, low=7).tolist() == [7, 7]
    with pytest.raises(ValueError, match=r"need 0 <= low <= high <= 255, got low=0, high=256"):
        bytescale(np.array([0.0, 1.0]), high=256)
    with pytest.raises(ValueError, match="^bytescale: cmax must not be smaller than cmin$"):
        bytescale(np.array([0.0, 1.0]), cmin=1.0, cmax=0.0)
    # cmin 5, cmax 10: 7.5 → 2.5·51 + 0.5 = 128; 0 lies below cmin and clips to low
    assert bytescale(np.array([0.0, 5.0, 7.5, 10.0]), cmin=5.0).tolist() == [0, 0, 128, 255]
    assert bytescale(np.array([0.0, 10.0]), cmin=5.0, low=10).tolist() == [10, 255]
    # a zero range counts as 1: (1 − 0.5)·255 + 0.5 = 128
    assert bytescale(np.array([0.0, 1.0]), cmin=0.5, cmax=0.5).tolist() == [0, 128]


def test_bytescale_computes_a_float32_map_in_float32():
    # 0.6098039 of the range: 155.5000… in float32 arithmetic (→ 156), below .5 in float64
    data = np.array([0.0, 0.6098039, 1.0], np.float32)
    assert bytescale(data).tolist() == [0, 156, 255]
    assert bytescale(data.astype(np.float64)).tolist() == [0, 155, 255]


def test_resize_keeps_uint8_and_refuses_other_types():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert pillow_bilinear_resize(image, (2, 2)).dtype == np.uint8
    with pytest.raises(ValueError, match="pillow_bilinear_resize takes uint8, got float64"):
        pillow_bilinear_resize(image.astype(np.float64), (2, 2))


def test_preprocess_shapes():
    grey = np.arange(30, dtype=np.uint8).reshape(5, 6)
    out = released_preprocess(grey, 4)
    assert out.shape == (4, 4, 3) and out.dtype == np.float32
    rgba = np.zeros((5, 6, 4), np.uint8)
    assert released_preprocess(rgba, 4).shape == (4, 4, 3)
    for shape in ((5, 6, 2), (5, 6, 3, 1)):
        with pytest.raises(ValueError, match=r"released_preprocess: expected \(H, W\) or "
                                             r"\(H, W, 3\), got"):
            released_preprocess(np.zeros(shape, np.uint8), 4)


def test_postprocess_of_narrow_and_faint_maps():
    # a (5, 1) map is 2-D: no channel axis to drop
    column = np.linspace(0, 1, 5, dtype=np.float32)[:, None]
    assert released_postprocess(column, (5, 1)).ravel().tolist() == [0, 64, 128, 191, 255]
    # one bright pixel, shrunk 16 times: its resized peak is 1, stretched back to 255
    spike = np.zeros((224, 224), np.float32)
    spike[2, 2] = 1.0
    faint = released_postprocess(spike, (14, 14))
    assert faint.dtype == np.uint8 and faint.max() == 255 and faint[0, 0] == 255
    blank = released_postprocess(np.zeros((8, 8), np.float32), (3, 3))
    assert blank.dtype == np.uint8 and blank.tolist() == [[0] * 3] * 3
