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
    from asnet_keras import predict
    from asnet_keras.inference import images as inference

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (48, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "wide.png"), image)
    out = tmp_path / "out"
    status = predict.main([str(tmp_path / "wide.png"), "--weights", model_path, "--out", str(out),
                           "--crop", "16:9,1:1", "--quiet"])
    assert status == 0
    saliency = cv2.imread(str(out / "saliency" / "wide.png"), cv2.IMREAD_GRAYSCALE)
    rgb = inference.read_image(tmp_path / "wide.png")
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
    from asnet_keras import predict

    with pytest.raises(SystemExit) as stop:
        predict.main([str(tmp_path), "--weights", model_path, "--out", str(tmp_path),
                      "--crop", "16-9"])
    assert stop.value.code == 2
    assert "WIDTH:HEIGHT" in capsys.readouterr().err
