"""`python -m asnet_keras.predict`: maps at the original size for grey, colour and RGBA
images in one call, a corrupt file reported by name without stopping the others."""

import os

import cv2
import numpy as np
import pytest

from asnet_keras import predict
from asnet_keras.inference import images as inference
from asnet_keras.inference import prediction


@pytest.fixture()
def images(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    grey = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    colour = rng.integers(0, 256, (61, 45, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (40, 40, 4), dtype=np.uint8)
    cv2.imwrite(str(folder / "grey.png"), grey)
    cv2.imwrite(str(folder / "colour.jpg"), colour)
    cv2.imwrite(str(folder / "rgba.png"), rgba)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder, {"grey": (37, 53), "colour": (61, 45), "rgba": (40, 40)}


def test_read_image_gives_rgb_uint8_for_grey_colour_and_rgba(images):
    folder, sizes = images
    grey = inference.read_image(folder / "grey.png")
    assert grey.shape == (37, 53, 3) and grey.dtype == np.uint8
    assert (grey[..., 0] == grey[..., 2]).all()
    rgba = inference.read_image(folder / "rgba.png")
    expected = cv2.imread(str(folder / "rgba.png"), cv2.IMREAD_UNCHANGED)[:, :, 2::-1]
    np.testing.assert_array_equal(rgba, expected)  # alpha dropped, BGR → RGB
    with pytest.raises(inference.ImageReadError, match="broken.jpg"):
        inference.read_image(folder / "broken.jpg")


def test_predict_writes_maps_at_image_size_and_reports_corrupt_file(model_path, images,
                                                                     tmp_path, capsys):
    folder, sizes = images
    out = tmp_path / "out"
    files = [str(folder / name) for name in ("grey.png", "colour.jpg", "broken.jpg", "rgba.png")]
    status = predict.main([*files, "--weights", model_path, "--out", str(out), "--overlay",
                           "--quiet"])
    assert status == 1  # one file failed
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err
    assert "3 of 4 images written" in captured.out
    assert "asnet_keras.predict: Keras backend " in captured.out  # the devices it runs on
    for stem, (h, w) in sizes.items():
        for kind in ("saliency", "fixation"):
            saved = cv2.imread(str(out / kind / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
            assert saved.shape == (h, w) and saved.dtype == np.uint8
        assert cv2.imread(str(out / "overlay" / f"{stem}.jpg")).shape == (h, w, 3)
    assert not (out / "saliency" / "broken.png").exists()


def test_predict_maps_equal_the_inference_pipeline(model_path, images, tmp_path):
    import keras

    folder, _ = images
    model = keras.models.load_model(model_path, compile=False)
    written, failures = prediction.predict_files(model, [str(folder / "colour.jpg")],
                                              str(tmp_path), progress=False)
    assert failures == []
    image = inference.read_image(folder / "colour.jpg")
    outputs = model.predict_on_batch(inference.resize_to_input(image, 32)[None])
    expected = np.rint(255 * np.clip(cv2.resize(outputs[-1][0, ..., 0], (45, 61)), 0, 1))
    saved = cv2.imread(written[0][1]["saliency"], cv2.IMREAD_GRAYSCALE)
    assert np.abs(saved.astype(int) - expected.astype(int)).max() <= 1


def test_folder_input_all_good_exits_zero_and_released_postprocess_stretches(model_path, images,
                                                                              tmp_path):
    folder, sizes = images
    os.remove(folder / "broken.jpg")
    out = tmp_path / "out"
    status = predict.main([str(folder), "--weights", model_path, "--out", str(out),
                           "--postprocess", "released", "--quiet"])
    assert status == 0
    for stem, (h, w) in sizes.items():
        saved = cv2.imread(str(out / "saliency" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
        assert saved.shape == (h, w)
        assert saved.max() == 255  # main.py's min-max stretch


def test_missing_input_and_missing_weights_are_usage_errors(tmp_path, capsys):
    assert predict.main([str(tmp_path / "nope.jpg"), "--weights", "w", "--out", str(tmp_path)]) == 1
    assert "nope.jpg: no such file" in capsys.readouterr().err
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    assert predict.main([str(tmp_path / "a.png"), "--weights", str(tmp_path / "none.keras"),
                         "--out", str(tmp_path / "o")]) == 2
    assert "none.keras: no such model" in capsys.readouterr().err
