"""`asnet predict`: maps at the original size for grey, colour and RGBA
images in one call, a corrupt file reported by name without stopping the others."""

import os

import cv2
import numpy as np
import pytest

from asnet_keras import io as image_io
from asnet_keras.commands import predict
from asnet_keras.inference import prediction
from tests.support import reference_resize


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
    grey = image_io.read_image(folder / "grey.png")
    assert grey.shape == (37, 53, 3) and grey.dtype == np.uint8
    assert (grey[..., 0] == grey[..., 2]).all()
    rgba = image_io.read_image(folder / "rgba.png")
    expected = cv2.imread(str(folder / "rgba.png"), cv2.IMREAD_UNCHANGED)[:, :, 2::-1]
    np.testing.assert_array_equal(rgba, expected)  # alpha dropped, BGR → RGB
    with pytest.raises(image_io.ImageReadError, match="broken.jpg"):
        image_io.read_image(folder / "broken.jpg")


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
    assert "asnet predict: Keras backend " in captured.out  # the devices it runs on
    for stem, (h, w) in sizes.items():
        for kind in ("saliency", "fixation"):
            saved = cv2.imread(str(out / kind / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
            assert saved.shape == (h, w) and saved.dtype == np.uint8
        assert cv2.imread(str(out / "overlay" / f"{stem}.jpg")).shape == (h, w, 3)
    assert not (out / "saliency" / "broken.png").exists()


def test_predict_maps_are_the_network_on_the_resized_image_upsampled(model_path, images,
                                                                   tmp_path):
    """The map `predict` writes for a JPEG is the network's output for the image decoded by
    OpenCV (BGR → RGB) and resized to the input with antialiasing, built here with numpy
    (tests/support/reference_resize.py), bilinearly upsampled and rounded to uint8."""
    import keras

    folder, _ = images
    model = keras.models.load_model(model_path, compile=False)
    written, failures = prediction.predict_files(model, [str(folder / "colour.jpg")],
                                                 str(tmp_path), progress=False)
    assert failures == []
    image = cv2.imread(str(folder / "colour.jpg"), cv2.IMREAD_COLOR)[:, :, ::-1]
    network_input = reference_resize.model_input(image, 32).astype(np.float32)
    outputs = model.predict_on_batch(network_input[None])
    saliency = dict(zip(model.output_names, outputs, strict=True))["saliency_conv1"]
    expected = np.rint(255 * np.clip(cv2.resize(saliency[0, ..., 0], (45, 61)), 0, 1))
    saved = cv2.imread(written[0][1]["saliency"], cv2.IMREAD_GRAYSCALE)
    assert saved.shape == (61, 45)
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
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    # a path that does not exist stops the command before the model loads: nothing written
    assert predict.main([str(tmp_path / "a.png"), str(tmp_path / "nope.jpg"), "--weights", "w",
                         "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "nope.jpg: no such file" in err and err.count("error:") == 1
    assert not (tmp_path / "o").exists()
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    assert predict.main([str(tmp_path / "a.png"), "--weights", str(tmp_path / "none.keras"),
                         "--out", str(tmp_path / "o")]) == 2
    assert "none.keras: no such model" in capsys.readouterr().err


@pytest.mark.parametrize("postprocess", ["default", "released"])
def test_an_image_over_max_pixels_is_named_and_skipped_until_the_flag_is_raised(
        model_path, tmp_path, capsys, postprocess):
    # docs/data_integrity.md §7: 60 × 50 = 3,000 px of 16-bit RGB decode to 18,000 bytes;
    # --max-pixels 4,000 allows 3,000 px but 4 × 4,000 = 16,000 bytes; 4,500 allows both.
    import tests.support.image_files as image_files

    big = tmp_path / "big.png"
    big.write_bytes(image_files.flat_png(60, 50, 16, 2))
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((8, 8, 3), np.uint8))
    args = [str(big), str(tmp_path / "small.png"), "--weights", model_path, "--quiet",
            "--postprocess", postprocess]
    assert predict.main([*args, "--out", str(tmp_path / "a"), "--max-pixels", "2000"]) == 1
    err = capsys.readouterr().err
    assert f"{big}: cannot read this image (image too large: 60 × 50 = 3,000 pixels, the limit " \
           "is 2,000 (--max-pixels)" in err
    assert (tmp_path / "a" / "saliency" / "small.png").is_file()  # the others are written
    assert predict.main([*args, "--out", str(tmp_path / "b"), "--max-pixels", "4000"]) == 1
    assert "decodes to 18,000 bytes, the limit is 4 bytes per pixel × 4,000" in \
        capsys.readouterr().err
    assert predict.main([*args, "--out", str(tmp_path / "c"), "--max-pixels", "4500"]) == 0
    saved = cv2.imread(str(tmp_path / "c" / "saliency" / "big.png"), cv2.IMREAD_UNCHANGED)
    assert saved.shape == (50, 60)
    assert predict.main([*args, "--out", str(tmp_path / "d"), "--max-pixels", "0"]) == 2
    assert "--max-pixels 0: pass 1 to" in capsys.readouterr().err
