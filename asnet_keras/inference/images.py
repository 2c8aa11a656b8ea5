"""Running a trained ASNet over images: reading, resizing, batching, upsampling.

Shared by `asnet_keras.evaluate` (prepared test sets) and `asnet_keras.predict` (any
image files), so that both produce the same maps for the same image.

The pipeline, one image at a time:

1. `read_image`: any JPEG/PNG/BMP/TIFF file → RGB uint8 (H, W, 3). Decoding follows
   `data_prep.io` (OpenCV, no EXIF rotation): grey is repeated to 3 channels, an alpha
   channel is dropped, 16-bit samples are scaled to 8 bits.
2. `resize_to_input`: RGB uint8 → float32 (S, S, 3) raw pixel values 0–255, the model
   input (the model does its own mean subtraction). `INPUT_INTERPOLATION` says how.
3. `run_batches`: the model on batches of `batch_size` images; yields each image's
   outputs as float32 maps at the network's resolution (14×14, 224×224, …).
4. `upsample`: each map back to the image size, in float, with `UPSAMPLING`
   (docs/metrics.md §0); `asnet_keras.metrics.to_uint8` then rounds it to the
   uint8 map that is saved and scored.

Memory is bounded by one batch of images and their outputs, whatever the number of
images.

Example:
    >>> model = load_model("runs/paper")
    >>> for item, maps in run_batches(model, paths, read=read_image):
    ...     saliency = upsample(maps["saliency_conv1"], item_shape)
"""

import os

import cv2
import numpy as np

# Recorded with every result (results.json "settings" → "upsampling"); do not reword.
UPSAMPLING = (
    "bilinear, half-pixel centres (cv2.INTER_LINEAR) from the network output to the "
    "image size, in float, before uint8 rounding"
)
INPUT_INTERPOLATION = (
    "tf.image.resize bilinear, antialias=True, on the float32 RGB image, clipped to "
    "0-255, aspect ratio not kept (as the training pipeline, asnet_keras.data)"
)
DEFAULT_INPUT_SIZE = 224  # paper §3.3
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(ValueError):
    """An image file that cannot be read; the message names the file and the reason."""


def read_image(path):
    """An image file as RGB uint8 (H, W, 3).

    Grey images are repeated to three channels, RGBA loses its alpha channel, 16-bit
    images are scaled to 8 bits; truncated JPEG/PNG files are refused, like
    `data_prep` does when it builds the prepared tree.

    Raises:
        ImageReadError: the file is missing, empty, truncated or not an image.
    """
    from data_prep.io import BadInput, decode_image

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
        bgr, _, _ = decode_image(data)
    except (OSError, BadInput) as err:
        raise ImageReadError(f"{path}: cannot read this image ({err})") from None
    return np.ascontiguousarray(bgr[:, :, ::-1])


def read_grey(path):
    """A single-channel label PNG (mask, fixation points, density) as uint8 (H, W)."""
    array = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
    if array is None:
        raise ImageReadError(f"{path}: cannot read this label map; re-run data_prep")
    return array


def resize_to_input(image, size):
    """RGB uint8 (H, W, 3) → float32 (size, size, 3) model input, raw values 0–255.

    The training pipeline's own resize (`asnet_keras.data.pipeline.input_pixels`,
    `INPUT_INTERPOLATION`), so a model sees the same pixels in training and inference.
    """
    if image.shape[:2] == (size, size):  # the resize is then the identity, exactly
        return image.astype(np.float32)
    # TensorFlow (the training pipeline's module) is imported only when an image is resized:
    # the reporting notebooks read images through this module without it.
    from asnet_keras.data.pipeline import input_pixels

    return input_pixels(image, size).numpy()


def upsample(saliency, shape):
    """A network output map → float64 (H, W) at the image size (`UPSAMPLING`).

    Args:
        saliency: (h, w) or (h, w, 1) float map.
        shape: (H, W) of the image.
    """
    a = np.asarray(saliency, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., 0]
    height, width = int(shape[0]), int(shape[1])
    if a.shape != (height, width):
        a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
    return a.astype(np.float64)
