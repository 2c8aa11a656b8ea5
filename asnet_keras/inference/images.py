"""The image side of running a trained ASNet: resizing, upsampling.

The steps of the one prediction path (`asnet_keras.inference.maps`) that `evaluate`
(prepared test sets), `predict` (any image files) and the service run, so that all three
produce the same maps for the same image.

The pipeline, one image at a time:

1. `asnet_keras.io.read_image`: any JPEG/PNG/BMP/TIFF/WebP file → RGB uint8 (H, W, 3),
   once its header is known to fit the pixel limit (OpenCV, no EXIF rotation; grey
   repeated to 3 channels, alpha dropped, 16-bit scaled to 8 bits;
   docs/data_integrity.md §7).
2. `resize_to_input`: RGB uint8 → float32 (S, S, 3) raw pixel values 0–255, the model
   input (the model does its own mean subtraction). `INPUT_INTERPOLATION` says how.
3. the network, on batches of images (`asnet_keras.inference.maps`, the one path from
   decoded images to maps): float32 maps at the network's resolution (14×14, 224×224, …).
4. `upsample`: each map back to the image size, in float, with `UPSAMPLING`
   (docs/metrics.md §0); `asnet_keras.metrics.to_uint8` then rounds it to the
   uint8 map that is saved and scored.

`asnet_keras.inference.maps.MapPipeline` runs the four steps in this order.

Example:
    >>> image = asnet_keras.io.read_image("photo.jpg")   # RGB uint8 (H, W, 3)
    >>> outputs = model.predict_on_batch(resize_to_input(image, 224)[None])
    >>> saliency = to_uint8(upsample(outputs[-1][0], image.shape[:2]))   # uint8 (H, W)
"""

import os

import cv2
import numpy as np

from asnet_keras.io import ImageReadError

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


def upsample(saliency, shape, dtype=np.float64):
    """A network output map → float64 (H, W) at the image size (`UPSAMPLING`).

    Args:
        saliency: (h, w) or (h, w, 1) float map.
        shape: (H, W) of the image.
        dtype: float64, or float32 to keep OpenCV's float32 result as it is (the same
            values; `MapPipeline.finish` rounds them in float32, docs/metrics.md §0).
    """
    a = np.asarray(saliency, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., 0]
    height, width = int(shape[0]), int(shape[1])
    if a.shape != (height, width):
        a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
    return a.astype(dtype, copy=False)
