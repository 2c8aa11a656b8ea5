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
   (METRICS.md, general rules); `asnet_keras.metrics.to_uint8` then rounds it to the
   uint8 map that is saved and scored.

Memory is bounded by one batch of images and their outputs, whatever the number of
images.

Example:
    >>> model = load_model("runs/paper")
    >>> for item, maps in run_batches(model, paths, read=read_image):
    ...     saliency = upsample(maps["saliency_conv1"], item_shape)
"""

import json
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

    Exactly the training pipeline's resize (`asnet_keras.data.make_loader`):
    `INPUT_INTERPOLATION`, so a model sees the same pixels in training and inference.
    """
    import tensorflow as tf

    if image.shape[:2] == (size, size):
        return image.astype(np.float32)
    resized = tf.image.resize(
        tf.convert_to_tensor(image, tf.float32), (size, size), method="bilinear", antialias=True
    )
    return np.clip(resized.numpy(), 0.0, 255.0).astype(np.float32)


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


# ---------------------------------------------------------------------------- models


def load_model(path):
    """Load a trained model: a run folder, `.keras`, `.h5` or `.weights.h5`.

    Uses `asnet_keras.loading.load_asnet` (which knows every saved form); a `.keras`
    file or a run folder holding `best.keras` also loads without it.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path}: no such model. Pass a training run folder (with best.keras), a "
            ".keras file, or a .weights.h5 file (python -m asnet_keras.train writes them)."
        )
    try:
        from asnet_keras.loading import load_asnet
    except ImportError:  # loading.py not available: the .keras forms still work
        load_asnet = None
    if load_asnet is not None:
        return load_asnet(path)
    import keras

    import asnet_keras.layers  # noqa: F401  (registers the custom layers)
    import asnet_keras.released  # noqa: F401

    if os.path.isdir(path):
        path = os.path.join(path, "best.keras")
    return keras.models.load_model(path, compile=False)


def run_config(path):
    """The training run's config.json next to a model path (dict), or None.

    A run folder holds config.json; for a model file, its folder is looked at.
    """
    if path is None:
        return None
    path = os.fspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    config = os.path.join(folder, "config.json")
    if not os.path.isfile(config):
        return None
    with open(config, encoding="utf-8") as f:
        return json.load(f)


def model_input_size(model, default=None):
    """The model's square input side, or `default` (then 224) if its input is unsized."""
    shape = model.inputs[0].shape
    height, width = shape[1], shape[2]
    if height is not None and width is not None:
        if height != width:
            raise ValueError(f"the model input is {height}×{width}; only square inputs are used")
        return int(height)
    return int(default or DEFAULT_INPUT_SIZE)


def output_names(model):
    """The model's output names in output order."""
    return list(model.output_names)


def run_batches(model, items, read, batch_size=8, input_size=None, preprocess=None):
    """Run `model` over `items` in batches; yield `(item, image, maps)` per item, in order.

    Args:
        model: a Keras model with raw-RGB input and named outputs.
        items: iterable of anything `read` accepts (paths, `prepared.Sample`s, …).
        read: item → RGB uint8 (H, W, 3) (or any array `preprocess` accepts, e.g. the
            2-D grey of `released_io.read_image_released`). An exception it raises is
            yielded in place of the image (`(item, exc, None)`), so one bad file does not
            stop the run.
        batch_size: images per forward pass (memory is bounded by one batch).
        input_size: the square model input side (default: the model's own).
        preprocess: image → float32 (S, S, 3) model input; default `resize_to_input`.

    Yields:
        `(item, image, maps)`: the RGB uint8 image and a dict output name → float32
        (h, w) map at the network's resolution; or `(item, exception, None)`.
    """
    size = model_input_size(model, input_size)
    names = output_names(model)
    prepare = preprocess or (lambda image: resize_to_input(image, size))
    batch = []

    def flush():
        inputs = np.stack([prepare(image) for _, image in batch])
        outputs = model.predict_on_batch(inputs)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs] if not isinstance(outputs, dict) else [outputs[n] for n in names]
        outputs = [np.asarray(o) for o in outputs]
        for i, (item, image) in enumerate(batch):
            yield item, image, {name: out[i, ..., 0] for name, out in zip(names, outputs)}
        batch.clear()

    for item in items:
        try:
            image = read(item)
        except Exception as err:  # reported by the caller, by name
            yield from flush() if batch else ()
            yield item, err, None
            continue
        batch.append((item, image))
        if len(batch) == batch_size:
            yield from flush()
    if batch:
        yield from flush()
