"""The one image encoder: an RGB, RGBA or grey uint8 array → PNG or JPEG bytes, or a file.

The package's arrays are RGB (`read_image`'s order); OpenCV encodes BGR, so the channels
are swapped here, once, for every writer (`predict`'s maps and outputs, crops, the
service's answers). PNG is lossless, so a written file holds exactly the array (what the
tests compare); JPEG (quality `JPEG_QUALITY`) is for overlays, where size matters more.

`write_image(path, array)` encodes and writes completely or not at all
(`atomic_files.atomic_write_bytes`, docs/data_integrity.md §5), creating the folder.

Example:
    >>> data = encode_image(rgba, ".png")             # (H, W, 4) uint8, alpha kept
    >>> write_image("out/cutout/photo.png", rgba)
"""

import os

import numpy as np

from asnet_keras.io import atomic_files
from asnet_keras.io.decoding import cv2

#: Quality of every JPEG the package writes (overlays, the service's large images).
JPEG_QUALITY = 95
#: The encodings `encode_image` writes, by file extension.
ENCODINGS = {".png": [], ".jpg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
             ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]}


def encode_image(array, ext=".png"):
    """uint8 (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA → the file's bytes.

    Args:
        array: the image, channels in RGB(A) order.
        ext: ".png" (lossless; grey, RGB or RGBA) or ".jpg" (grey or RGB).

    Raises:
        ValueError: another dtype, shape or extension (an RGBA JPEG, say).
        OSError: OpenCV could not encode it.
    """
    array = np.asarray(array)
    ext = ext.lower()
    if ext not in ENCODINGS:
        raise ValueError(f"cannot encode {ext!r}: pass one of {', '.join(ENCODINGS)}")
    channels = 1 if array.ndim == 2 else (array.shape[2] if array.ndim == 3 else 0)
    if array.dtype != np.uint8 or channels not in (1, 3, 4) or (channels == 4 and ext != ".png"):
        raise ValueError(f"cannot encode a {array.dtype} {array.shape} array as {ext}: pass "
                         "uint8 grey (H, W), RGB (H, W, 3) or, for PNG, RGBA (H, W, 4)")
    if channels == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    elif channels == 4:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(ext, np.ascontiguousarray(array), ENCODINGS[ext])
    if not ok:
        raise OSError(f"OpenCV could not encode a {array.shape} image as {ext}")
    return encoded.tobytes()


def write_image(path, array):
    """Encode `array` by `path`'s extension (`encode_image`) and write it completely or
    not at all, creating its folder; returns `path`.

    Raises:
        atomic_files.OutputWriteError: the file could not be written (the previous version,
            if any, is unchanged); `no_room` says when the disk is full.
    """
    path = os.fspath(path)
    data = encode_image(array, os.path.splitext(path)[1])
    atomic_files.make_parent(path)
    atomic_files.atomic_write_bytes(path, data)
    return path
