"""The pixels the network gets for an image file are the same in training and at inference:
the training loader (`asnet_keras.data.pipeline.make_loader`: TensorFlow decoding, then
`input_pixels`) and `predict` (`asnet_keras.inference.prediction.predict_files`: OpenCV
decoding, then `resize_to_input`, which calls `input_pixels`) give the network equal
arrays, bit for bit — for colour, grey and RGBA files, JPEG and PNG, wide, tall and
already square images, at two input sizes (docs/model.md §3, "Resizing")."""

import types

import cv2
import numpy as np
import pytest
import tensorflow as tf

from asnet_keras.data import pipeline
from asnet_keras.inference import prediction
from asnet_keras.names import FINAL_OUTPUT
from tests.support import reference_resize

# file name → (height, width[, channels]) of the image written
CASES = {
    "colour.jpg": (61, 45, 3),
    "grey.jpg": (40, 70),
    "wide.jpg": (24, 96, 3),
    "square.jpg": (32, 32, 3),  # already the input size at 32 px: no resize at all
    "colour.png": (50, 50, 3),
    "grey.png": (20, 30),
    "alpha.png": (33, 50, 4),
    "tall.png": (90, 20, 3),
}
assert len(CASES) == 8
SIZES = (32, 64)
assert len(SIZES) == 2


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Smooth random images (blurred noise: every pixel differs, JPEG has work to do)."""
    folder = tmp_path_factory.mktemp("one-resize")
    rng = np.random.default_rng(25)
    paths = {}
    for name, shape in CASES.items():
        noise = rng.integers(0, 256, shape).astype(np.uint8)
        image = cv2.GaussianBlur(noise, (3, 3), 0).reshape(shape)
        paths[name] = str(folder / name)
        assert cv2.imwrite(paths[name], image)
    return paths


class _Recorder:
    """Stands in for a model in `predict_files`: keeps each input batch, returns blank maps."""

    def __init__(self, size):
        self.inputs = [types.SimpleNamespace(shape=(None, size, size, 3))]
        self.output_names = [FINAL_OUTPUT]
        self.batches = []

    def predict_on_batch(self, batch):
        self.batches.append(np.array(batch))
        return [np.zeros((len(batch), 4, 4, 1), np.float32)]


def _training_pixels(path, size):
    load = pipeline.make_loader([FINAL_OUTPUT], size)  # no augmentation: validation's loader
    image, _, _ = load(path, "", "", False, False, tf.constant(0, tf.int64))
    return image.numpy()


@pytest.mark.parametrize("size", SIZES)
def test_training_loader_and_predict_give_the_network_the_same_pixels(files, size, tmp_path):
    recorder = _Recorder(size)
    names = list(CASES)
    written, failures = prediction.predict_files(
        recorder, [files[n] for n in names], str(tmp_path), batch_size=3, progress=False)
    assert failures == [] and len(written) == len(names)
    fed = np.concatenate(recorder.batches)
    assert fed.shape == (len(names), size, size, 3) and fed.dtype == np.float32
    for name, predicted in zip(names, fed, strict=True):
        trained = _training_pixels(files[name], size)
        assert trained.dtype == np.float32, name
        np.testing.assert_array_equal(predicted, trained, err_msg=f"{name} at {size} px")
        assert 0 <= trained.min() and trained.max() <= 255, name
        assert trained.std() > 1, name  # a real image, not a blank


def test_grey_and_alpha_files_reach_the_network_as_three_equal_or_colour_channels(files):
    grey = _training_pixels(files["grey.png"], 32)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 1])
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    # alpha is dropped, not blended: the colour channels as written (OpenCV's BGRA order)
    bgra = cv2.imread(files["alpha.png"], cv2.IMREAD_UNCHANGED)
    expected = pipeline.input_pixels(bgra[..., 2::-1], 32).numpy()
    np.testing.assert_array_equal(_training_pixels(files["alpha.png"], 32), expected)


@pytest.mark.parametrize("size", SIZES)
def test_the_input_resize_is_the_documented_antialiased_bilinear(files, size):
    """`input_pixels` against the formula written out in numpy (tests/support/
    reference_resize.py): within float32 round-off of sums of values up to 255
    (8 ulps at 255 = 2^-20 · 255 · 8 ≈ 2e-3), for shrinking, enlarging and square images."""
    for name in ("colour.jpg", "wide.jpg", "square.jpg", "tall.png", "grey.png"):
        image = cv2.imread(files[name], cv2.IMREAD_COLOR)[:, :, ::-1]
        np.testing.assert_allclose(pipeline.input_pixels(image, size).numpy(),
                                   reference_resize.model_input(image, size), rtol=0,
                                   atol=255 * 2.0**-20 * 8, err_msg=f"{name} at {size} px")
