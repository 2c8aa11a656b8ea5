"""Saliency-aware cropping (`asnet_keras.inference.cropping`, docs/serving.md §2): the integral-image
search equals a brute-force search over every position, window sizes and tie-breaks are
the documented ones, and `predict --crop` writes the crops beside the maps."""

import itertools
import json
import os
import zlib

import cv2
import numpy as np
import pytest

from asnet_keras.inference import cropping


def brute_force(saliency, h, w):
    """Independent reference: every position, summed directly, the rule's tie-break."""
    height, width = saliency.shape
    best = None
    for y, x in itertools.product(range(height - h + 1), range(width - w + 1)):
        mass = int(saliency[y:y + h, x:x + w].astype(np.int64).sum())
        centre = (2 * x + w - width) ** 2 + (2 * y + h - height) ** 2
        key = (-mass, centre, y, x)
        if best is None or key < best:
            best = key
    return best[3], best[2], -best[0]


@pytest.mark.parametrize("shape", [(9, 13), (13, 9), (10, 10), (1, 7)])
@pytest.mark.parametrize("aspect", ["16:9", "1:1", "9:16", "4:3", "1.91:1"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_crop_box_equals_brute_force_on_small_maps(shape, aspect, scale):
    # a seed of the parameters that is the same in every process (hash() of a str is not)
    rng = np.random.default_rng(zlib.crc32(repr((shape, aspect, scale)).encode()))
    # Few grey levels, so that ties between windows are common and the tie-break is tested.
    saliency = (rng.integers(0, 4, shape) * 85).astype(np.uint8)
    box = cropping.crop_box(saliency, aspect, scale)
    h, w = cropping.window_size(*shape, aspect, scale)
    assert (box.height, box.width) == (h, w)
    assert (box.x, box.y, box.mass) == brute_force(saliency, h, w)
    assert box.total == int(saliency.astype(np.int64).sum())
    assert box.crop(saliency).shape == (h, w)


def test_window_sizes_by_hand():
    # 100 rows × 200 columns: wider than 16:9, so the crop is full height.
    assert cropping.window_size(100, 200, "16:9") == (100, 178)  # 100·16/9 = 177.8
    assert cropping.window_size(100, 200, "1:1") == (100, 100)
    assert cropping.window_size(100, 200, "9:16") == (100, 56)  # 56.25
    assert cropping.window_size(100, 200, "2:1") == (100, 200)  # the whole image
    assert cropping.window_size(100, 200, "4:1") == (50, 200)  # full width
    assert cropping.window_size(100, 200, "1:1", scale=0.5) == (50, 50)
    assert cropping.window_size(300, 200, "3:2") == (133, 200)  # 133.3
    assert cropping.window_size(9, 16, "16:9") == (9, 16)
    assert cropping.window_size(10, 10, "1:3", scale=0.01) == (1, 1)  # at least one pixel
    assert cropping.window_size(3, 5, "5:2") == (2, 5)  # 2.0 exactly: no float surprise


def test_crop_picks_the_blob_and_ties_go_to_the_centre():
    saliency = np.zeros((40, 100), np.uint8)
    saliency[10:20, 70:80] = 255  # a blob right of centre
    box = cropping.crop_box(saliency, "1:1")
    assert (box.width, box.height, box.y) == (40, 40, 0)
    assert box.x <= 70 and box.x + 40 >= 80 and box.fraction == 1.0
    # Every x from 40 to 60 keeps the whole blob: the tie goes to the most central (x=30
    # would be centred but loses mass), i.e. x=40.
    assert box.x == 40
    empty = cropping.crop_box(np.zeros((40, 100), np.uint8), "1:1")
    assert (empty.x, empty.y, empty.fraction) == (30, 0, None)  # centred
    # Two equal lines, 10-px windows: x = 2 (holding column 2) and x = 18 (holding
    # column 27) are the most central of their groups and equally far from the centre
    # (|2·2 + 10 − 30| = |2·18 + 10 − 30| = 16): the smaller x wins.
    two = np.zeros((10, 30), np.uint8)
    two[:, 2] = two[:, 27] = 9
    assert cropping.crop_box(two, "1:1").x == 2


def test_float_maps_and_integer_maps_agree():
    rng = np.random.default_rng(5)
    saliency = rng.integers(0, 256, (23, 31)).astype(np.uint8)
    as_int = cropping.crop_box(saliency, "4:5", 0.7)
    as_float = cropping.crop_box(saliency / 255.0, "4:5", 0.7)
    assert (as_int.x, as_int.y, as_int.width, as_int.height) == (
        as_float.x, as_float.y, as_float.width, as_float.height)
    assert as_float.mass == pytest.approx(as_int.mass / 255.0)
    sums = cropping.window_sums(saliency, 3, 4)
    assert sums.shape == (21, 28) and sums[5, 7] == saliency[5:8, 7:11].astype(int).sum()


@pytest.mark.parametrize("text, message", [
    ("16-9", "WIDTH:HEIGHT"), ("0:1", "greater than 0"), ("abc", "WIDTH:HEIGHT"),
    ("1000:1", "between 1:100 and 100:1"), (",", "no aspect ratio"),
])
def test_bad_aspect_ratios_are_refused_with_the_fix(text, message):
    with pytest.raises(ValueError, match=message):
        cropping.parse_aspects(text)


def test_parse_aspects_keeps_labels_and_drops_duplicates():
    aspects = cropping.parse_aspects("16:9, 1.91:1,16:9,4x5")
    assert [a.label for a in aspects] == ["16:9", "1.91:1", "4:5"]
    assert [a.tag for a in aspects] == ["16x9", "1.91x1", "4x5"]
    assert aspects[1].ratio == cropping.Fraction(191, 100)


def test_bad_maps_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        cropping.crop_box(np.zeros((2, 3, 3)), "1:1")
    with pytest.raises(ValueError, match="negative"):
        cropping.crop_box(-np.ones((4, 4)), "1:1")
    with pytest.raises(ValueError, match="NaN"):
        cropping.crop_box(np.full((4, 4), np.nan), "1:1")
    with pytest.raises(ValueError, match="scale"):
        cropping.crop_box(np.ones((4, 4)), "1:1", scale=1.5)


def test_predict_crop_writes_crops_beside_the_maps(model_path, tmp_path, capsys):
    from asnet_keras.commands import predict
    from asnet_keras.io import read_image

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (48, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "wide.png"), image)
    out = tmp_path / "out"
    status = predict.main([str(tmp_path / "wide.png"), "--weights", model_path, "--out", str(out),
                           "--crop", "16:9,1:1", "--quiet"])
    assert status == 0
    saliency = cv2.imread(str(out / "saliency" / "wide.png"), cv2.IMREAD_GRAYSCALE)
    rgb = read_image(tmp_path / "wide.png")
    index = json.loads((out / "crops.json").read_text())
    entries = index[str(tmp_path / "wide.png")]
    for aspect, entry in zip(("16:9", "1:1"), entries, strict=True):
        box = cropping.crop_box(saliency, aspect)
        assert entry == box.to_dict()
        written = cv2.imread(str(out / f"crop-{aspect.replace(':', 'x')}" / "wide.png"))
        np.testing.assert_array_equal(written[:, :, ::-1], box.crop(rgb))
    assert written.shape[:2] == (48, 48)
    assert (entries[0]["width"], entries[0]["height"]) == (85, 48)  # 48·16/9 = 85.3
    assert not os.path.exists(out / "crop-16x9" / "other.png")


def test_predict_crop_usage_error(model_path, tmp_path, capsys):
    from asnet_keras.commands import predict

    assert predict.main([str(tmp_path), "--weights", model_path, "--out", str(tmp_path),
                         "--crop", "16-9"]) == 2
    assert "WIDTH:HEIGHT" in capsys.readouterr().err


# ------------------------------------------------------------------ without a model
# The files and dicts of `predict --crop`, and the rule's edges, by hand (fast: these are
# the tests mutation testing runs, docs/testing.md §3).


def test_round_half_up_on_exact_fractions():
    from fractions import Fraction

    half_up = cropping._round_half_up
    assert [half_up(Fraction(n, 2)) for n in (-3, -1, 0, 1, 3, 5)] == [-2, -1, 0, 1, 2, 3]
    assert [half_up(Fraction(n, 10)) for n in (14, 15, 16, -14, -16)] == [1, 2, 2, -1, -2]
    assert half_up(Fraction(7)) == 7 and isinstance(half_up(Fraction(7, 2)), int)


def test_window_size_rounds_half_up_and_keeps_one_pixel():
    # 10 × 15 at 3:2: exactly the image; at scale 0.5: 5 × 7.5 → 5 × 8 (half up)
    assert cropping.window_size(10, 15, "3:2") == (10, 15)
    assert cropping.window_size(10, 15, "3:2", 0.5) == (5, 8)
    # 9 × 13 at 1:1: 9 × 9; at scale 0.05: 0.45 → 1 pixel at least
    assert cropping.window_size(9, 13, "1:1", 0.05) == (1, 1)
    # taller than 16:9 → full width: 16 × (16·9/16 = 9)
    assert cropping.window_size(30, 16, "16:9") == (9, 16)
    for scale in (0, 1.5, -0.5):
        with pytest.raises(ValueError, match=r"scale=.*in \(0, 1\]"):
            cropping.window_size(10, 10, "1:1", scale)


def test_parse_aspect_reads_every_separator_and_keeps_the_label():
    from fractions import Fraction

    for text, ratio, label in (("16:9", Fraction(16, 9), "16:9"), (" 4x5 ", Fraction(4, 5), "4:5"),
                               ("4X5", Fraction(4, 5), "4:5"), ("1/1", Fraction(1), "1:1"),
                               ("1.91:1", Fraction(191, 100), "1.91:1"),
                               ("100:1", Fraction(100), "100:1"), ("1:100", Fraction(1, 100), "1:100")):
        aspect = cropping.parse_aspect(text)
        assert (aspect.ratio, aspect.label, aspect.tag) == (ratio, label, label.replace(":", "x"))
    aspect = cropping.parse_aspect("3:2")
    assert cropping.parse_aspect(aspect) is aspect
    for text in ("101:1", "1:101", "1234567:1", "1.1234567:1", "16:9:1", "-1:2"):
        with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
            cropping.parse_aspect(text)
    for text in ("0:1", "1:0"):
        with pytest.raises(ValueError, match=rf"'{text}': both sides must be greater than 0, "
                                             r"e\.g\. 16:9"):
            cropping.parse_aspect(text)
    with pytest.raises(ValueError, match=r"'1000:1': must lie between 1:100 and 100:1$"):
        cropping.parse_aspect("1000:1")
    with pytest.raises(ValueError, match=r"^aspect ratio 'a:b': write it as WIDTH:HEIGHT with "
                                         r"positive numbers, e\.g\. 16:9, 1:1, 4:5 or 1\.91:1$"):
        cropping.parse_aspect("a:b")


def test_parse_aspects_and_the_argparse_type():
    import argparse

    assert [a.label for a in cropping.parse_aspects("16:9,,1:1, 16:9")] == ["16:9", "1:1"]
    with pytest.raises(ValueError, match=r"^no aspect ratio in ' , '; pass e\.g\. 16:9 or "
                                         r"16:9,1:1$"):
        cropping.parse_aspects(" , ")
    assert [a.label for a in cropping.aspects_argument("4:3")] == ["4:3"]
    with pytest.raises(argparse.ArgumentTypeError, match="WIDTH:HEIGHT"):
        cropping.aspects_argument("wide")


def test_integral_image_and_window_sums_by_hand():
    m = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)
    integral = cropping.integral_image(m)
    assert integral.dtype == np.int64
    assert integral.tolist() == [[0, 0, 0, 0], [0, 1, 3, 6], [0, 5, 12, 21]]
    assert cropping.integral_image(m.astype(bool)).dtype == np.int64
    floats = cropping.integral_image(m / 2)
    assert floats.dtype == np.float64 and floats[-1, -1] == 10.5
    assert cropping.window_sums(m, 1, 2).tolist() == [[3, 5], [9, 11]]
    assert cropping.window_sums(m, 2, 2, integral=integral).tolist() == [[12, 16]]


def test_crop_box_of_a_float_map_and_its_dict():
    m = np.zeros((4, 8))
    m[1, 6] = 0.25
    # (H, W, 1) is read as (H, W); 2 × 2 windows holding (1, 6) start at x 5–6, y 0–1;
    # (x 5, y 1) is nearest the centre: (2·5 + 2 − 8)² + (2·1 + 2 − 4)² = 16
    box = cropping.crop_box(m[..., None], "1:1", 0.5)
    assert (box.x, box.y, box.width, box.height) == (5, 1, 2, 2)
    assert box.to_dict() == {"aspect": "1:1", "x": 5, "y": 1, "width": 2, "height": 2,
                             "mass": 0.25, "total_mass": 0.25, "mass_fraction": 1.0}
    whole = cropping.crop_box(np.full((2, 2), 3, np.uint8), "1:1").to_dict()
    assert whole["mass"] == 12 and isinstance(whole["mass"], int)
    assert whole["total_mass"] == 12 and isinstance(whole["total_mass"], int)
    empty = cropping.crop_box(np.zeros((3, 5), np.uint8), "1:1")
    assert (empty.x, empty.fraction, empty.to_dict()["mass_fraction"]) == (1, None, None)
    # float ties within 1e-9 of the total go to the centre
    near = np.zeros((1, 5))
    near[0, 0], near[0, 2] = 1.0, 1.0 - 1e-12
    assert cropping.crop_box(near, "1:1").x == 2
    near[0, 0], near[0, 2] = 1000.0, 1000.0 - 1e-7  # 1e-7 < 1e-9 · 2000: a tie
    assert cropping.crop_box(near, "1:1").x == 2
    near[0, 0], near[0, 2] = 0.25, 0.25 - 7e-10  # 7e-10 > 1e-9 · 0.5: not a tie
    assert cropping.crop_box(near, "1:1").x == 0
    assert cropping.crop_box(np.zeros((1, 5)), "1:1").x == 2  # no mass: the centre


def test_crop_boxes_takes_a_list_or_a_string():
    m = np.zeros((9, 16), np.uint8)
    m[4, 0] = 255
    boxes = cropping.crop_boxes(m, "16:9,1:1")
    assert [(b.aspect, b.x, b.width) for b in boxes] == [("16:9", 0, 16), ("1:1", 0, 9)]
    boxes = cropping.crop_boxes(m, ["1:1"], scale=0.5)
    assert [(b.aspect, b.x, b.y, b.width, b.height) for b in boxes] == [("1:1", 0, 2, 5, 5)]


def test_write_crops_and_the_index(tmp_path):
    image = np.zeros((9, 16, 3), np.uint8)
    image[..., 0] = np.arange(16, dtype=np.uint8)[None, :] * 10  # red grows to the right
    saliency = np.zeros((9, 16), np.uint8)
    saliency[:, 12:] = 200
    paths, boxes = cropping.write_crops(str(tmp_path), "photo", image, saliency, ["1:1", "16:9"])
    assert paths == {"crop-1x1": str(tmp_path / "crop-1x1" / "photo.png"),
                     "crop-16x9": str(tmp_path / "crop-16x9" / "photo.png")}
    assert [(b.aspect, b.x, b.width) for b in boxes] == [("1:1", 7, 9), ("16:9", 0, 16)]
    written = cv2.imread(paths["crop-1x1"], cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(written, image[:, 7:16])
    # a second image into the same folders, at half scale: 5 × 5 at the right edge
    paths, (box,) = cropping.write_crops(str(tmp_path), "other", image, saliency, ["1:1"], 0.5)
    assert (box.x, box.y, box.width, box.height) == (11, 2, 5, 5)
    assert cv2.imread(paths["crop-1x1"]).shape == (5, 5, 3)
    index = cropping.write_crop_index(str(tmp_path), {"a.jpg": boxes, tmp_path / "b.jpg": []})
    assert index == str(tmp_path / "crops.json")
    with open(index, encoding="utf-8") as f:
        text = f.read()
    assert json.loads(text) == {"a.jpg": [b.to_dict() for b in boxes], str(tmp_path / "b.jpg"): []}
    assert text.startswith('{\n "a.jpg": [\n  {\n   "aspect": "1:1",')  # indented by one


def test_bad_maps_are_refused_with_their_reason():
    for bad, message in ((np.zeros((2, 2, 2)), r"non-empty 2-D map, got shape \(2, 2, 2\)"),
                         (np.zeros((0, 3)), r"got shape \(0, 3\)"),
                         (np.zeros(4), r"got shape \(4,\)"),
                         (np.array([["a"]]), "numeric map, got dtype <U1"),
                         (np.array([[np.inf]]), "^crop_box: the map holds NaN or infinite "
                                                 "values$"),
                         (np.array([[-1]], np.int8), "^crop_box: the map has negative values; "
                                                     "mass must be non-negative$"),
                         (np.array([[-0.5]]), "negative values")):
        with pytest.raises(ValueError, match=message):
            cropping.crop_box(bad, "1:1")
    assert cropping.crop_box(np.array([[True, False]]), "1:1").x == 0
