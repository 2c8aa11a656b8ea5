"""The derived outputs (`asnet_keras.inference.outputs`, docs/outputs.md §1–§3), on
hand-made images and maps whose answers are worked out in the comments."""

import cv2
import numpy as np
import pytest

from asnet_keras import io as image_io
from asnet_keras.inference import outputs


@pytest.fixture()
def pair():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    saliency = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    saliency[0, :] = 255
    saliency[1, :] = 0
    return image, saliency


def test_cutout_alpha_is_the_map_and_colours_are_the_image_through_the_png(pair, tmp_path):
    image, saliency = pair
    rgba = outputs.cutout(image, saliency)
    assert rgba.shape == (7, 9, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., 3], saliency)
    np.testing.assert_array_equal(rgba[..., :3], image)
    # written and read back: the file keeps every pixel (PNG, channel order handled once)
    path = image_io.write_image(tmp_path / "cut.png", rgba)
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back[..., 3], saliency)
    np.testing.assert_array_equal(back[..., 2::-1], image)


def test_adaptive_mask_is_twice_the_mean_clipped_and_at_least_one():
    # mean = (0 + 10 + 20 + 30 + 40 + 200) / 6 = 50 → θ = 100: only 200 is foreground
    saliency = np.array([[0, 10, 20], [30, 40, 200]], np.uint8)
    assert outputs.mask_threshold(saliency) == 100.0
    np.testing.assert_array_equal(outputs.binary_mask(saliency),
                                  [[0, 0, 0], [0, 0, 255]])
    # a pixel exactly at θ is foreground: mean of (0, 0, 50, 50) = 25 → θ = 50
    np.testing.assert_array_equal(outputs.binary_mask(np.array([[0, 0], [50, 50]], np.uint8)),
                                  [[0, 0], [255, 255]])
    # mean 241.25 → 2 × mean = 482.5, clipped to 255: only the 255 pixels
    bright = np.array([[255, 255], [255, 200]], np.uint8)
    assert outputs.mask_threshold(bright) == 255.0
    np.testing.assert_array_equal(outputs.binary_mask(bright), [[255, 255], [255, 0]])
    # no saliency at all: θ = max(0, 1) = 1, an empty mask (PySODMetrics' ≥ 0 would fill it)
    assert outputs.binary_mask(np.zeros((3, 4), np.uint8)).max() == 0
    # a constant map: θ = 2 × 77 = 154 > 77, empty
    assert outputs.binary_mask(np.full((3, 4), 77, np.uint8)).max() == 0


def test_fixed_mask_threshold_and_its_parsing():
    saliency = np.array([[0, 29, 30, 31, 255]], np.uint8)
    np.testing.assert_array_equal(outputs.binary_mask(saliency, 30), [[0, 0, 255, 255, 255]])
    assert outputs.parse_threshold("adaptive") == outputs.ADAPTIVE
    assert outputs.parse_threshold(" 128 ") == 128
    for bad in ("0", "256", "-3", "1.5", "half", ""):
        with pytest.raises(ValueError, match="mask-threshold"):
            outputs.parse_threshold(bad)


def test_composite_is_the_image_where_alpha_is_255_and_the_formula_elsewhere(pair):
    image, saliency = pair
    layer = np.random.default_rng(6).integers(0, 256, image.shape, dtype=np.uint8)
    out = outputs.composite(image, saliency, layer)
    np.testing.assert_array_equal(out[0], image[0])  # α = 255: the image exactly
    np.testing.assert_array_equal(out[1], layer[1])  # α = 0: the background exactly
    a = saliency.astype(np.int64)[..., None]
    expected = (a * image + (255 - a) * layer.astype(np.int64) + 127) // 255
    np.testing.assert_array_equal(out, expected)
    # by hand: I = 200, B = 0, α = 128: (25,600 + 127) // 255 = 100 (128/255 · 200 = 100.4);
    # I = 10, B = 250, α = 1: (10 + 63,500 + 127) // 255 = 249 (0.04 + 249.02 = 249.06)
    one = lambda v: np.full((1, 1, 3), v, np.uint8)  # noqa: E731
    assert outputs.composite(one(200), np.full((1, 1), 128, np.uint8), one(0))[0, 0, 0] == 100
    assert outputs.composite(one(10), np.full((1, 1), 1, np.uint8), one(250))[0, 0, 0] == 249


def test_backgrounds_colour_blur_and_picture_resized_to_cover(pair, tmp_path):
    image, saliency = pair
    red = outputs.parse_background("red")
    assert red.layer(image)[3, 4].tolist() == [255, 0, 0]
    assert outputs.parse_background("#0A80fF").colour == (10, 128, 255)
    options = outputs.OutputOptions(background=outputs.parse_background("#000000"))
    out = options.render("background", image, saliency)
    # over black: (α · I + 127) // 255
    np.testing.assert_array_equal(out, (saliency.astype(int)[..., None] * image + 127) // 255)

    blur = outputs.parse_background("blur:2.5")
    assert blur.sigma == 2.5
    np.testing.assert_array_equal(blur.layer(image), cv2.GaussianBlur(image, (0, 0), 2.5))
    # a large σ runs on a shrunk copy: a flat image stays flat, an edge spreads
    step = np.zeros((60, 80, 3), np.uint8)
    step[:, 40:] = 200
    wide = outputs.blur(step, 12.0)
    assert wide.shape == step.shape and 60 < wide[30, 40, 0] < 140
    assert outputs.blur(np.full((60, 80, 3), 90, np.uint8), 12.0).min() == 90

    # a 10 × 20 (H × W) picture covering a 10 × 10 image: scale max(10/20, 10/10) = 1,
    # cut to columns 5…14 around the centre
    picture = np.random.default_rng(7).integers(0, 256, (10, 20, 3), dtype=np.uint8)
    np.testing.assert_array_equal(outputs.cover(picture, 10, 10), picture[:, 5:15])
    # a 2 × 3 picture covering 4 × 4: scale max(4/3, 4/2) = 2 → 4 × 6, columns 1…4
    small = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10
    covered = outputs.cover(small, 4, 4)
    expected = cv2.resize(small, (6, 4), interpolation=cv2.INTER_LINEAR)[:, 1:5]
    np.testing.assert_array_equal(covered, expected)
    path = tmp_path / "beach.png"
    image_io.write_image(path, picture)
    from_file = outputs.parse_background(str(path))
    assert from_file.kind == "image"
    np.testing.assert_array_equal(from_file.layer(np.zeros((10, 10, 3), np.uint8)),
                                  picture[:, 5:15])


@pytest.mark.parametrize("text", ["blur:0", "blur:-1", "blur:nan", "blur:inf", "blur:x",
                                  "blur:5000", "#12345", "#GG0000", "nosuchcolour",
                                  "missing.png"])
def test_bad_backgrounds_say_what_to_pass(text):
    with pytest.raises(ValueError, match="--background"):
        outputs.parse_background(text)


def test_outputs_parse_and_refuse_mismatched_arrays(pair):
    assert outputs.parse_outputs("cutout, map,cutout") == ("cutout", "map")
    for bad in ("", "maps", "map,alpha"):
        with pytest.raises(ValueError, match="--output"):
            outputs.parse_outputs(bad)
    image, saliency = pair
    with pytest.raises(ValueError, match="at the image's size"):
        outputs.cutout(image, saliency[:, :5])
    with pytest.raises(ValueError, match="uint8"):
        outputs.cutout(image, saliency.astype(np.float32))
    with pytest.raises(ValueError, match="no rendering"):
        outputs.OutputOptions().render("map", image, saliency)
    # the overlay as predict always drew it: round(0.5 · image + 0.5 · JET(map))
    jet = cv2.applyColorMap(saliency, cv2.COLORMAP_JET)[:, :, ::-1].astype(np.float32)
    expected = np.clip(np.rint(0.5 * image + 0.5 * jet), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(outputs.overlay(image, saliency), expected)
