"""The page's JavaScript without a browser: the pure functions of
`asnet_keras/serving/static/page.js` (colours, sizes, the overlay blend, the crop's
shading and caption, the statistics row, file names) run under Node.js and are compared
with the service's Python (OpenCV's JET, `predict --overlay`, the crop boxes) and with
values worked out by hand. The page as a whole, in Chromium, is
`tests/serving/test_serve_browser.py`.

Skipped, saying why, where Node.js is not installed."""

import json
import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from asnet_keras.inference import cropping
from asnet_keras.inference.outputs import overlay

PAGE_JS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "asnet_keras", "serving", "static", "page.js")
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None, reason="Node.js is not installed (no `node` on PATH): the page's JavaScript "
    "(asnet_keras/serving/static/page.js) is tested under Node.js; install it to run this test")

# Reads [[function name, [arguments]], ...] as JSON on stdin, prints the results as JSON.
_DRIVER = """
const page = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const calls = JSON.parse(input);
  process.stdout.write(JSON.stringify(calls.map(([name, args]) => page[name](...args))));
});
"""


def js(*calls):
    """The results of `page.js` functions: js(("jet", [0.5]), ...) → [result, ...]."""
    result = subprocess.run([NODE, "-e", _DRIVER, PAGE_JS], input=json.dumps(calls),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert len(results) == len(calls)
    return results


def _jet_lut():
    """OpenCV's COLORMAP_JET as (256, 3) RGB, the colours of `predict --overlay`."""
    grey = np.arange(256, dtype=np.uint8)[:, None]
    return cv2.applyColorMap(grey, cv2.COLORMAP_JET)[:, 0, ::-1].astype(np.float64)


def test_jet_is_opencvs_colormap():
    colours = 255 * np.array(js(*(("jet", [v / 255]) for v in range(256))))
    assert colours.shape == (256, 3)
    # OpenCV's table holds the same piecewise-linear ramps rounded to integers
    assert np.abs(colours - _jet_lut()).max() <= 0.5 + 1e-9
    assert colours[0].tolist() == [0, 0, 127.5] and colours[255].tolist() == [127.5, 0, 0]


def test_overlay_blend_gives_predicts_overlay():
    """The canvas stores the blend in a Uint8ClampedArray (rounded half to even, as
    numpy rounds): within one grey level of `predict --overlay`'s JPEG-free pixels."""
    rng = np.random.default_rng(25)
    image = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    saliency = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    rgba = np.dstack([image, np.full((7, 9), 255, np.uint8)]).reshape(-1)
    grey = np.dstack([saliency] * 3 + [np.full((7, 9), 255, np.uint8)]).reshape(-1)
    for alpha in (0.5, 0.3):
        (blended,) = js(("blend", [rgba.tolist(), grey.tolist(), alpha]))
        canvas = np.clip(np.round(np.array(blended, np.float64)), 0, 255).reshape(7, 9, 4)
        assert canvas[..., 3].tolist() == [[255] * 9] * 7  # alpha channel untouched
        expected = overlay(image, saliency, alpha).astype(int)
        difference = np.abs(canvas[..., :3].astype(int) - expected)
        assert difference.max() <= 1, alpha
        assert difference.mean() < 0.2, alpha


def test_fitted_canvas_sizes_by_hand():
    assert js(("fitted", [2000, 1000]), ("fitted", [300, 200]), ("fitted", [5000, 3]),
              ("fitted", [1, 1]), ("fitted", [1024, 600])) == [
        [1024, 512, 0.512], [300, 200, 1], [1024, 1, 0.2048], [1, 1, 1], [1024, 600, 1]]


def test_crop_shading_covers_everything_but_the_box():
    # box at (10, 20), 30 × 40, drawn at scale 0.5 on a 100 × 80 canvas: (5, 10), 15 × 20
    box = {"x": 10, "y": 20, "width": 30, "height": 40}
    (shading,) = js(("cropShading", [box, 0.5, 100, 80]))
    assert shading == {"shade": [[0, 0, 100, 10], [0, 30, 100, 50], [0, 10, 5, 20],
                                 [20, 10, 80, 20]],
                       "outline": [6, 11, 13, 18]}


def test_crop_shading_of_the_services_boxes_leaves_exactly_the_box():
    """For crop boxes the service computes, every canvas pixel is shaded once, except the
    box's (checked by painting the rectangles, at scale 1)."""
    rng = np.random.default_rng(7)
    saliency = rng.integers(0, 256, (30, 50), dtype=np.uint8)
    boxes = [cropping.crop_box(saliency, aspect).to_dict() for aspect in ("16:9", "1:1", "9:16")]
    results = js(*(("cropShading", [box, 1, 50, 30]) for box in boxes))
    for box, shading in zip(boxes, results, strict=True):
        painted = np.zeros((30, 50), int)
        for x, y, w, h in shading["shade"]:
            painted[y:y + h, x:x + w] += 1
        inside = np.zeros((30, 50), bool)
        inside[box["y"]:box["y"] + box["height"], box["x"]:box["x"] + box["width"]] = True
        np.testing.assert_array_equal(painted, (~inside).astype(int), err_msg=box["aspect"])


def test_texts_by_hand():
    box = {"aspect": "16:9", "x": 3, "y": 0, "width": 32, "height": 18, "mass_fraction": 0.8764}
    stats = {"min": 0, "max": 255, "mean": 12.34, "salient_fraction": 0.1234,
             "centroid": {"x": 10.26, "y": 3.04}, "peak": {"x": 4, "y": 5}}
    assert js(("cropCaption", [box]), ("cropCaption", [dict(box, mass_fraction=None)]),
              ("statsCells", ["saliency", stats])) == [
        "16:9 crop at x=3, y=0, 32 × 18 px: keeps 87.6 % of the saliency mass.",
        "16:9 crop at x=3, y=0, 32 × 18 px: the map is empty.",
        ["saliency", 0, 255, "12.3", "12.3 %", "10.3, 3.0", "4, 5"],
    ]
    detail = [{"loc": ["query", "aspect"], "msg": "field required"}]
    assert js(("detailOf", [{"detail": "empty upload"}, "Bad Request"]),
              ("detailOf", [{"detail": detail}, "Bad Request"]),
              ("detailOf", [None, "Bad Request"]), ("detailOf", [{}, "Bad Request"])) == [
        "empty upload", json.dumps(detail, separators=(",", ":")), "Bad Request", "Bad Request"]
    assert js(("stemOf", ["photo.final.jpg"]), ("stemOf", [".jpg"]), ("stemOf", ["scan"]),
              ("cropFileName", ["photo", "16:9"]), ("cropFileName", ["photo", "1.91:1"])) == [
        "photo.final", "image", "scan", "photo-crop-16x9.png", "photo-crop-1.91x1.png"]
