"""`predict --output`, `--recursive` and `--skip-existing` (docs/outputs.md §1–§4): the
files hold the values their rule gives (read back and recomputed from the maps written
beside them), the tree is mirrored, a resumed run does only the missing work (counted at
the model), and every unreadable file is named in the closing summary."""

import os

import cv2
import numpy as np
import pytest

from asnet_keras import io as image_io
from asnet_keras.commands import predict
from asnet_keras.inference import outputs, prediction, targets


class CountingModel:
    """A model that counts the images it is given (`MapPipeline` needs only these)."""

    def __init__(self, model):
        self.model = model
        self.inputs = model.inputs
        self.output_names = model.output_names
        self.images = 0

    def predict_on_batch(self, batch):
        self.images += len(batch)
        return self.model.predict_on_batch(batch)


@pytest.fixture(scope="module")
def model(model_path):
    import keras

    return keras.models.load_model(model_path, compile=False)


def _grey(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _write(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), array)


def test_every_output_holds_what_its_rule_gives(model_path, tmp_path, capsys):
    rng = np.random.default_rng(11)
    photo = rng.integers(0, 256, (45, 61, 3), dtype=np.uint8)
    photo[10:30, 20:40] = (250, 240, 20)
    _write(tmp_path / "photo.png", photo)
    out = tmp_path / "out"
    status = predict.main([str(tmp_path / "photo.png"), "--weights", model_path, "--out",
                           str(out), "--output", "map,mask,cutout,background,overlay",
                           "--background", "#102030", "--quiet"])
    assert status == 0
    assert "1 of 1 images written" in capsys.readouterr().out
    image = image_io.read_image(tmp_path / "photo.png")
    saliency = _grey(out / "saliency" / "photo.png")
    assert saliency.shape == (45, 61) and _grey(out / "fixation" / "photo.png").shape == (45, 61)

    cut = cv2.imread(str(out / "cutout" / "photo.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(cut[..., 3], saliency)       # alpha = the map
    np.testing.assert_array_equal(cut[..., 2::-1], image)      # the image's own pixels

    theta = max(min(2 * saliency.mean(), 255), 1)
    np.testing.assert_array_equal(_grey(out / "mask" / "photo.png"),
                                  np.where(saliency >= theta, 255, 0))

    composite = cv2.imread(str(out / "background" / "photo.png"))[:, :, ::-1]
    a = saliency.astype(np.int64)[..., None]
    expected = (a * image + (255 - a) * np.array([16, 32, 48]) + 127) // 255
    np.testing.assert_array_equal(composite, expected)
    opaque = saliency == 255
    np.testing.assert_array_equal(composite[opaque], image[opaque])
    assert cv2.imread(str(out / "overlay" / "photo.jpg")).shape == (45, 61, 3)


def test_only_the_outputs_asked_for_are_written(model_path, tmp_path):
    _write(tmp_path / "a.png", np.full((20, 30, 3), 90, np.uint8))
    out = tmp_path / "out"
    assert predict.main([str(tmp_path / "a.png"), "--weights", model_path, "--out", str(out),
                         "--output", "cutout", "--mask-threshold", "40", "--quiet"]) == 0
    assert sorted(os.listdir(out)) == ["cutout"]


def _tree(root):
    """Five images in three folders (two named "x" in one folder), a hidden one and a
    broken one."""
    rng = np.random.default_rng(12)
    sizes = {"x.jpg": (40, 50), "2019/x.jpg": (30, 20), "2019/x.png": (22, 26),
             "2019/rome/y.png": (33, 44), "2020/z.bmp": (16, 18), ".cache/h.jpg": (8, 8)}
    for rel, (h, w) in sizes.items():
        _write(root / rel, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    (root / "2020" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return {"x": (40, 50), "2019/x": (30, 20), "2019/x-2": (22, 26),
            "2019/rome/y": (33, 44), "2020/z": (16, 18)}


def test_recursive_mirrors_the_tree_and_skip_existing_resumes(model, model_path, tmp_path,
                                                               monkeypatch, capsys):
    expected = _tree(tmp_path / "photos")
    counting = CountingModel(model)
    monkeypatch.setattr(predict, "open_model", lambda *a, **k: counting)
    out = tmp_path / "out"
    args = [str(tmp_path / "photos"), "--recursive", "--weights", model_path, "--out",
            str(out), "--output", "map,mask", "--quiet", "--batch-size", "2"]
    assert predict.main(args) == 1  # the broken file
    captured = capsys.readouterr()
    assert "5 of 6 images written" in captured.out
    summary = captured.err[captured.err.index("1 input failed"):]
    assert "photos/2020/broken.jpg: cannot read this image" in summary
    assert counting.images == 5
    for kind in ("saliency", "fixation", "mask"):
        found = sorted(os.path.relpath(os.path.join(r, f), out / kind)
                       for r, _, fs in os.walk(out / kind) for f in fs)
        assert found == sorted(name + ".png" for name in expected)
    for name, shape in expected.items():
        assert _grey(out / "saliency" / f"{name}.png").shape == shape
    assert not (out / "saliency" / ".cache").exists()

    # Resume: the first run "was killed" after two images (their outputs removed, one
    # left half done and a temporary file of a dead process beside it).
    os.remove(out / "mask" / "2019" / "rome" / "y.png")
    for kind in ("saliency", "fixation", "mask"):
        os.remove(out / kind / "2020" / "z.png")
    stale = out / "saliency" / "2019" / ".tmp-999999999-x.png"
    stale.write_bytes(b"half")
    mtime = os.stat(out / "saliency" / "x.png").st_mtime_ns
    counting.images = 0
    assert predict.main(args + ["--skip-existing"]) == 1
    captured = capsys.readouterr()
    assert "2 of 6 images written" in captured.out and "(3 skipped: already written)" in \
        captured.out
    assert counting.images == 2  # y and z only: the three complete ones were not read
    assert os.stat(out / "saliency" / "x.png").st_mtime_ns == mtime
    assert (out / "mask" / "2019" / "rome" / "y.png").is_file()
    assert (out / "fixation" / "2020" / "z.png").is_file()
    assert not stale.exists()
    assert "broken.jpg" in captured.err  # still named: it has no outputs


def test_names_stay_unique_in_a_flat_folder(tmp_path):
    for name in ("a.jpg", "a.png", "a-2.png", "b.png"):
        _write(tmp_path / name, np.zeros((4, 4, 3), np.uint8))
    found, problems = targets.collect_inputs([tmp_path])
    assert problems == []
    # sorted: a-2.png, a.jpg, a.png, b.png; the second "a" skips "a-2", taken by a file
    assert [(os.path.basename(t.path), t.name) for t in found] == [
        ("a-2.png", "a-2"), ("a.jpg", "a"), ("a.png", "a-3"), ("b.png", "b")]
    assert targets.unique_names(["p", "p", "p", "q"]) == ["p", "p-2", "p-3", "q"]
    # files given in this order: the second "a" cannot take "a-2", which a later file has
    given, _ = targets.collect_inputs([tmp_path / n for n in ("a.jpg", "a.png", "a-2.png")])
    assert [t.name for t in given] == ["a", "a-3", "a-2"]


def test_predict_files_keeps_its_return_shape_and_reports_skips(model, tmp_path):
    _write(tmp_path / "a.png", np.full((12, 14, 3), 50, np.uint8))
    files = [str(tmp_path / "a.png")]
    written, failures = prediction.predict_files(model, files, tmp_path / "o", progress=False)
    assert failures == [] and set(written[0][1]) == {"saliency", "fixation"}
    again = prediction.predict_files(model, files, tmp_path / "o", progress=False,
                                     skip_existing=True)
    assert again.written == [] and again.skipped == files


def test_bad_output_options_are_usage_errors(model_path, tmp_path, capsys):
    _write(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    base = [str(tmp_path / "a.png"), "--weights", model_path, "--out", str(tmp_path / "o")]
    assert predict.main(base + ["--output", "map,sketch"]) == 2  # argparse's usage error
    assert "map, mask, cutout, background, overlay" in capsys.readouterr().err
    assert predict.main(base + ["--output", "background", "--background", "blur:-2"]) == 2
    assert "blur:σ" in capsys.readouterr().err
    assert predict.main(base + ["--mask-threshold", "300"]) == 2
    assert "1 to 255" in capsys.readouterr().err
    assert outputs.DEFAULT_OUTPUTS == ("map",)
