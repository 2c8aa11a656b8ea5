"""The model side of the service: uploaded bytes → image → network input → maps.

Every step is the one `python -m asnet_keras.predict` takes, so the service answers the
same uint8 maps as `predict` writes for the same image file (`docs/serving.md §1`):

1. `decode_upload`: the bytes are decoded like `inference.read_image` decodes a file
   (`data_prep.io.decode_image`: OpenCV, grey → 3 channels, alpha dropped, 16 → 8 bit,
   truncated JPEG/PNG refused), after the size is checked against `max_pixels`.
2. `MapEngine.prepare`: RGB uint8 (H, W, 3) → float32 (S, S, 3), `inference.resize_to_input`
   (or the authors' `released_preprocess` with postprocess="released").
3. `MapEngine.run`: a batch of prepared inputs through `inference.run_batches`
   (`model.predict_on_batch`), one forward pass for the whole batch.
4. `MapEngine.finish`: each network map → uint8 (H, W) at the image size, exactly as
   `predict_files` does (`inference.upsample` + `to_uint8`, or `released_postprocess`).
"""

import io
import struct
import warnings

import numpy as np

from asnet_keras.inference.batches import model_input_size, output_names, run_batches
from asnet_keras.inference.images import resize_to_input, upsample
from asnet_keras.metrics import to_uint8

SALIENCY_OUTPUT = "saliency_conv1"
FIXATION_OUTPUT = "fixation"
POSTPROCESS = ("default", "released")
DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels, e.g. 7,746 × 5,164


class UploadError(ValueError):
    """An upload the service refuses; `status` is the HTTP status (4xx) to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _jpeg_size(data):
    """(width, height) from a JPEG's first SOF segment, or None."""
    i, n = 2, len(data)
    while i + 9 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:
            i += 1 if marker == 0xFF else 2
            continue
        if marker in (0xD9, 0xDA):
            return None
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def header_size(data):
    """(width, height) from the file header without decoding the pixels, or None.

    PNG (IHDR) and JPEG (SOF) headers are read here, other formats by Pillow (which reads
    only the header), so an image of 100,000 × 100,000 pixels in a few kilobytes is
    refused before any memory is spent on it.

    Raises:
        UploadError: 413 when Pillow itself calls the size a decompression bomb.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with matplotlib; without it the decoded size is checked
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.size
        except Image.DecompressionBombError as err:  # over twice Pillow's own limit
            raise UploadError(413, f"image too large: {err}") from None
        except Exception:  # not an image Pillow knows: OpenCV may still decode it
            return None


def decode_upload(data, max_pixels=DEFAULT_MAX_PIXELS):
    """Uploaded file bytes → RGB uint8 (H, W, 3), as `inference.read_image` reads a file.

    Raises:
        UploadError: 400 empty, 413 more than `max_pixels` pixels, 415 not an image
            OpenCV can decode, 422 a JPEG/PNG that is truncated or corrupt.
    """
    from data_prep.io import BadInput, decode_image

    if not data:
        raise UploadError(400, "empty upload: the file has 0 bytes; send the image's contents")
    size = header_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise UploadError(413, f"image too large: {size[0]} × {size[1]} = {size[0] * size[1]:,} "
                               f"pixels, the limit is {max_pixels:,} (serve --max-pixels); "
                               "downscale it first")
    try:
        bgr, _, _ = decode_image(bytes(data))
    except BadInput as err:
        reason = str(err)
        known = data[:2] == b"\xff\xd8" or data[:8] == b"\x89PNG\r\n\x1a\n"
        if "truncated" in reason:
            raise UploadError(422, f"truncated image: {reason}; upload the whole file") from None
        if known:
            raise UploadError(422, f"corrupt image: {reason}") from None
        raise UploadError(415, "not an image: OpenCV cannot decode these bytes (send a JPEG, "
                               "PNG, BMP, TIFF or WebP file)") from None
    height, width = bgr.shape[:2]
    if height * width > max_pixels:
        raise UploadError(413, f"image too large: {width} × {height} = {width * height:,} pixels, "
                               f"the limit is {max_pixels:,} (serve --max-pixels)")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def map_statistics(array):
    """Summary of a uint8 (H, W) map: range, mean, spread, where its mass and peak are.

    Returns a dict: `min`, `max`, `mean`, `std` (grey levels 0–255), `salient_fraction`
    (share of pixels ≥ 128), `centroid` {x, y} (mass-weighted centre, pixels; the image
    centre for an empty map) and `peak` {x, y} (first maximum in row-major order).
    """
    a = np.asarray(array, dtype=np.float64)
    height, width = a.shape
    total = a.sum()
    if total > 0:
        cy = float((a.sum(axis=1) * np.arange(height)).sum() / total)
        cx = float((a.sum(axis=0) * np.arange(width)).sum() / total)
    else:
        cy, cx = (height - 1) / 2, (width - 1) / 2
    py, px = np.unravel_index(int(np.argmax(a)), a.shape)
    return {
        "min": int(a.min()), "max": int(a.max()),
        "mean": round(float(a.mean()), 4), "std": round(float(a.std()), 4),
        "salient_fraction": round(float((a >= 128).mean()), 6),
        "centroid": {"x": round(cx, 3), "y": round(cy, 3)},
        "peak": {"x": int(px), "y": int(py)},
    }


class MapEngine:
    """A loaded ASNet and the predict pipeline around it (module docstring, steps 2–4).

    Args:
        model: a Keras ASNet with a `saliency_conv1` output (and `fixation` if it has
            the fixation head).
        input_size: the square input side when the model has none (default 224).
        postprocess: "default" or "released", as `predict --postprocess`.
    """

    def __init__(self, model, input_size=None, postprocess="default"):
        if postprocess not in POSTPROCESS:
            raise ValueError(f"postprocess={postprocess!r}: pass one of {POSTPROCESS}")
        names = output_names(model)
        if SALIENCY_OUTPUT not in names:
            raise ValueError(f"the model has no '{SALIENCY_OUTPUT}' output (outputs: {names})")
        self.model = model
        self.postprocess = postprocess
        self.input_size = model_input_size(model, input_size)
        self.outputs = {"saliency": SALIENCY_OUTPUT}
        if FIXATION_OUTPUT in names:
            self.outputs["fixation"] = FIXATION_OUTPUT

    @property
    def kinds(self):
        """The maps this model gives: ("saliency", "fixation") or ("saliency",)."""
        return tuple(self.outputs)

    @staticmethod
    def released_view(data):
        """The upload as the authors' main.py read it (`--postprocess released`): grey files
        stay 2-D and are contrast-stretched by `prepare` (docs/released_pipeline.md §2).
        `decode_upload` has validated the bytes already."""
        from asnet_keras.released.reading import decode_released

        return decode_released(bytes(data))

    def prepare(self, image):
        """RGB uint8 (H, W, 3) → float32 (S, S, 3) network input (with `released`
        post-processing, also the 2-D grey of `released_view`)."""
        if self.postprocess == "released":
            from asnet_keras.inference.released_processing import released_preprocess

            return released_preprocess(image, self.input_size)
        return resize_to_input(image, self.input_size)

    def run(self, inputs):
        """A list of prepared inputs → list of dicts kind → float32 network-size map.

        One `predict_on_batch` call for the whole list (through `inference.run_batches`,
        the code `predict` runs).
        """
        inputs = list(inputs)
        if not inputs:
            return []
        results = []
        for _, _, maps in run_batches(
            self.model, inputs, read=lambda x: x, batch_size=len(inputs),
            input_size=self.input_size, preprocess=lambda x: x,
        ):
            results.append({kind: maps[name] for kind, name in self.outputs.items()})
        return results

    def finish(self, maps, shape):
        """Network maps (from `run`) → dict kind → uint8 (H, W) at the image size `shape`."""
        out = {}
        for kind, array in maps.items():
            if self.postprocess == "released":
                from asnet_keras.inference.released_processing import released_postprocess

                out[kind] = released_postprocess(array, shape)
            else:
                out[kind] = to_uint8(upsample(array, shape))
        return out

    def warm_up(self, batch_sizes=(1, 2)):
        """Trace the forward pass for a few batch sizes so the first requests are not slow.

        Keras relaxes the traced batch dimension after the second distinct size, so
        (1, 2) covers every later size with no further tracing.
        """
        blank = np.zeros((self.input_size, self.input_size, 3), np.float32)
        for n in batch_sizes:
            self.run([blank] * int(n))
