"""The service's side of an upload: bytes → image within the limits; a map's statistics.

The steps an upload takes are `asnet predict`'s, so the service answers
the same uint8 maps as `predict` writes for the same image file (`docs/serving.md §1`):

1. `decode_upload`: the bytes are decoded like `asnet_keras.io.read_image` decodes a file
   (`asnet_keras.io.decode`: the header probed first, a format it cannot size refused
   with 415 and an image over `max_pixels` — pixels, or decoded bytes — with 413 before
   any decoder runs; then OpenCV under its own pixel limit, grey → 3 channels, alpha
   dropped, 16 → 8 bit, truncated JPEG/PNG refused; docs/data_integrity.md §7).
2. The one prediction path, `asnet_keras.inference.maps.MapPipeline`: `prepare` (in the
   request's thread-pool call), `forward` (in the micro-batcher, one pass for the images
   of several requests), `finish` (the request's maps, uint8 at the image size).
"""

import numpy as np

from asnet_keras.io import (DEFAULT_MAX_PIXELS, CorruptImage, ImageError, ImageTooLarge,
                            UnsupportedImage, as_bgr8, decode)


class UploadError(ValueError):
    """An upload the service refuses; `status` is the HTTP status (4xx) to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


#: The name of the limit in the service's answers.
LIMIT_NAME = "serve --max-pixels"


def decode_upload(data, max_pixels=DEFAULT_MAX_PIXELS):
    """Uploaded file bytes → RGB uint8 (H, W, 3), as `asnet_keras.io.read_image` reads a file.

    Raises:
        UploadError: 400 empty; 415 not a JPEG, PNG, BMP, TIFF or WebP file (or samples
            other than 8/16-bit), refused from its first bytes; 413 more than
            `max_pixels` pixels or decoded bytes over 4 × `max_pixels` (16-bit counts
            twice), refused from the header, or by the decoder's own limit if the
            header lied; 422 truncated or corrupt (docs/serving.md §1, §6).
    """
    if not data:
        raise UploadError(400, "empty upload: the file has 0 bytes; send the image's contents")
    try:
        array, _ = decode(data, max_pixels, name=LIMIT_NAME)
        bgr, _ = as_bgr8(array)
    except UnsupportedImage as err:
        raise UploadError(415, str(err)) from None
    except ImageTooLarge as err:
        raise UploadError(413, str(err)) from None
    except CorruptImage as err:
        if err.truncated:
            raise UploadError(422, f"truncated image: {err}; upload the whole file") from None
        raise UploadError(422, f"corrupt image: {err}") from None
    except ImageError as err:
        raise UploadError(422, str(err)) from None
    del array  # a 16-bit or grey original is freed before the RGB copy is made
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
