"""Image and mask normalisation for the prepared tree, on the package's light I/O layer.

Decoding, header inspection, 16 → 8-bit scaling and atomic writes are those of
`asnet_keras.io` (numpy and OpenCV, no TensorFlow; docs/data_integrity.md §5, §7); this
module adds what only the prepared layout needs. Conventions (docs/datasets.md §0
"Images" and "Masks", §10):

* Images are decoded by `asnet_keras.io.decode` (OpenCV ``IMREAD_UNCHANGED``, no EXIF
  rotation, so pixels stay aligned with masks and fixations, and match what
  ``tf.io.decode_jpeg`` sees), once their header is known to fit
  `asnet_keras.io.DEFAULT_MAX_PIXELS`. Arrays here are OpenCV-ordered: ``bgr`` is
  ``(H, W, 3) uint8`` in B, G, R order.
* Every image leaves as a 3-channel 8-bit baseline JPEG. A source JPEG that already is
  one (SOF0/SOF1, 8-bit, 3 components, not Adobe CMYK/YCCK) is copied byte for byte;
  anything else is re-encoded at quality 95, and the reason is counted as a repair:
  ``gray_to_rgb``, ``alpha_dropped``, ``palette_expanded``, ``16bit_to_8bit``,
  ``cmyk_to_rgb`` (4-component JPEG; OpenCV's CMYK->BGR conversion), ``png_to_jpeg``,
  ``progressive_jpeg``, ``other_format`` (BMP, TIFF, WebP).
* Masks leave as ``(H, W) uint8`` PNGs with values exactly {0, 255}: single channel
  (ITU-R 601 luma for colour masks, like PIL's ``L``; for a palette PNG whose palette is
  not grey the palette *index* decides: index != 0 is foreground), then ``value >= 128``.
* Files that cannot be decoded, that are truncated (JPEG without an EOI marker after
  its last scan, PNG without an IEND chunk), too large, or in another format, raise
  :class:`BadInput`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from asnet_keras.io import ImageError, as_bgr8, decode, to_8bit

JPEG_QUALITY = 95


class BadInput(ValueError):
    """A source file that cannot be used; ``str(err)`` is the reason shown to the user."""


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _decode(data: bytes):
    """`asnet_keras.io.decode` with its refusals as :class:`BadInput`."""
    try:
        return decode(data)
    except ImageError as e:
        raise BadInput(str(e)) from None


def _bgr8(arr: np.ndarray) -> tuple[np.ndarray, set]:
    try:
        return as_bgr8(arr)
    except ImageError as e:
        raise BadInput(str(e)) from None


# -------------------------------------------------------------------------- images
def decode_image(data: bytes) -> tuple[np.ndarray, set, bool]:
    """Decode an image file's bytes -> ``(bgr (H, W, 3) uint8, repairs, copy_ok)``.

    ``repairs`` names what had to change (module docstring); ``copy_ok`` is True when
    the source bytes already are a baseline 3-channel 8-bit JPEG that may be copied.
    """
    arr, header = _decode(data)
    notes: set = set()
    copy_ok = False
    if header.format == "jpeg":
        info = header.details
        if info["components"] == 4:
            notes.add("cmyk_to_rgb")
        elif info["sof"] not in (0, 1):
            notes.add("progressive_jpeg")
        elif info["precision"] == 8 and info["components"] == 3:
            copy_ok = True
    elif header.format == "png":
        if header.details["colour_type"] == 3:
            notes.add("palette_expanded")
        notes.add("png_to_jpeg")
    else:
        notes.add("other_format")
    arr, converted = _bgr8(arr)
    notes |= converted
    if notes - {"png_to_jpeg"}:
        copy_ok = False
    return arr, notes, copy_ok


def encode_jpeg(bgr: np.ndarray) -> bytes:
    """Baseline JPEG, quality 95, 4:2:0 (OpenCV default); deterministic bytes."""
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    return buf.tobytes()


def encode_png(gray: np.ndarray) -> bytes:
    """Lossless single-channel PNG of a ``(H, W) uint8`` array; deterministic bytes."""
    assert gray.ndim == 2 and gray.dtype == np.uint8, (gray.shape, gray.dtype)
    ok, buf = cv2.imencode(".png", gray, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    assert ok
    return buf.tobytes()


def image_bytes(data: bytes) -> tuple[bytes, tuple[int, int], set]:
    """Source image bytes -> ``(prepared JPEG bytes, (H, W), repairs)``."""
    bgr, notes, copy_ok = decode_image(data)
    out = data if copy_ok else encode_jpeg(bgr)
    return out, bgr.shape[:2], notes


# --------------------------------------------------------------------------- masks
def decode_gray(data: bytes) -> tuple[np.ndarray, set]:
    """Decode a label image to ``(H, W) uint8`` (one channel). Palette PNGs with a
    non-grey palette return their palette indices (see module docstring)."""
    notes: set = set()
    arr, header = _decode(data)
    palette = None
    if header.format == "png" and header.details["colour_type"] == 3 \
            and header.details["palette"]:
        pal = np.frombuffer(header.details["palette"], np.uint8)
        pal = pal[: len(pal) // 3 * 3].reshape(-1, 3)
        if not (np.all(pal[:, 0] == pal[:, 1]) and np.all(pal[:, 1] == pal[:, 2])):
            palette = pal
    if arr.dtype == np.uint16:
        notes.add("16bit_to_8bit")
        arr = to_8bit(arr)
    elif arr.dtype != np.uint8:
        raise BadInput(f"unsupported sample type {arr.dtype} (8- or 16-bit images only)")
    if palette is not None:
        notes.add("palette_indices")
        return _palette_indices(arr[:, :, :3], palette), notes
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[:, :, :3]
        if arr.shape[2] == 3:
            if not (np.array_equal(arr[:, :, 0], arr[:, :, 1])
                    and np.array_equal(arr[:, :, 1], arr[:, :, 2])):
                notes.add("color_to_gray")
            arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_BGR2GRAY)
        else:
            arr = arr[:, :, 0]
    return np.ascontiguousarray(arr), notes


def _palette_indices(bgr: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map expanded palette colours back to their (first) palette index, as uint8."""
    def code(rgb):
        rgb = rgb.astype(np.int64)
        return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]

    pal_codes = code(palette)
    order = np.argsort(pal_codes, kind="stable")
    pix = code(bgr[:, :, ::-1])
    pos = np.searchsorted(pal_codes[order], pix)
    pos = np.clip(pos, 0, len(order) - 1)
    idx = order[pos]
    # first occurrence of a duplicated colour: searchsorted on stable order gives it
    return np.minimum(idx, 255).astype(np.uint8)


def binarise(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """``value >= 128 -> 255`` else 0 (docs/datasets.md §0, PASCAL-S's 0.5 rule).
    Returns ``(mask {0,255} uint8, was_not_binary)``."""
    was_not_binary = bool(np.any((gray != 0) & (gray != 255)))
    return np.where(gray >= 128, 255, 0).astype(np.uint8), was_not_binary


def mask_bytes(data: bytes, size_hw: tuple[int, int]) -> tuple[bytes, set]:
    """Source mask bytes -> ``(prepared PNG bytes, repairs)``; repairs may include
    ``mask_not_binary`` and ``mask_resized`` (nearest neighbour to the image size)."""
    gray, notes = decode_gray(data)
    if "palette_indices" in notes:
        mask = np.where(gray != 0, 255, 0).astype(np.uint8)
        nonbin = bool(np.any((gray != 0) & (gray != 255)))
    else:
        mask, nonbin = binarise(gray)
    if nonbin:
        notes.add("mask_not_binary")
    if mask.shape != tuple(size_hw):
        notes.add("mask_resized")
        mask = cv2.resize(mask, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_NEAREST)
    return encode_png(mask), notes
