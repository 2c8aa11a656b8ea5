"""The service's side of an upload: bytes → image within the limits; a map's statistics.

The steps an upload takes are `python -m asnet_keras.predict`'s, so the service answers
the same uint8 maps as `predict` writes for the same image file (`docs/serving.md §1`):

1. `decode_upload`: the bytes are decoded like `inference.read_image` decodes a file
   (`data_prep.io.decode_image`: OpenCV, grey → 3 channels, alpha dropped, 16 → 8 bit,
   truncated JPEG/PNG refused), after the size is checked against `max_pixels`.
2. The one prediction path, `asnet_keras.inference.maps.MapPipeline`: `prepare` (in the
   request's thread-pool call), `forward` (in the micro-batcher, one pass for the images
   of several requests), `finish` (the request's maps, uint8 at the image size).
"""

import io
import struct
import warnings

import numpy as np

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
