"""File I/O for the prepared tree: atomic writes, image and mask normalisation.

Conventions (docs/datasets.md §0 "Images" and "Masks", §10):

* Images are decoded with OpenCV ``IMREAD_UNCHANGED`` (no EXIF rotation, so pixels stay
  aligned with masks and fixations, and match what ``tf.io.decode_jpeg`` sees). Arrays
  here are OpenCV-ordered: ``bgr`` is ``(H, W, 3) uint8`` in B, G, R order.
* Every image leaves as a 3-channel 8-bit baseline JPEG. A source JPEG that already is
  one (SOF0/SOF1, 8-bit, 3 components, not Adobe CMYK/YCCK) is copied byte for byte;
  anything else is re-encoded at quality 95, and the reason is counted as a repair:
  ``gray_to_rgb``, ``alpha_dropped``, ``palette_expanded``, ``16bit_to_8bit``,
  ``cmyk_to_rgb`` (4-component JPEG; OpenCV's CMYK->BGR conversion), ``png_to_jpeg``,
  ``progressive_jpeg``, ``other_format``.
* Masks leave as ``(H, W) uint8`` PNGs with values exactly {0, 255}: single channel
  (ITU-R 601 luma for colour masks, like PIL's ``L``; for a palette PNG whose palette is
  not grey the palette *index* decides: index != 0 is foreground), then ``value >= 128``.
* Files that cannot be decoded, or that are truncated (JPEG without an EOI marker after
  its last scan, PNG without an IEND chunk), raise :class:`BadInput`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import struct
from pathlib import Path

import cv2
import numpy as np

JPEG_QUALITY = 95
TMP_MARK = ".tmp-data_prep-"


class BadInput(ValueError):
    """A source file that cannot be used; ``str(err)`` is the reason shown to the user."""


class WriteError(OSError):
    """An output file could not be written completely (full disk, quota, I/O error).

    The file under its final name is unchanged (the previous run's version, or absent)
    and the temporary file is removed; ``python -m data_prep`` stops with this message.
    Same behaviour and wording as ``asnet_keras.atomic_files.OutputWriteError``, which
    this package cannot import (it never imports ``asnet_keras``).
    """

    def __init__(self, path, error):
        self.path = str(path)
        code = getattr(error, "errno", None)
        self.no_room = code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG)
        reason = os.strerror(code) if code else str(error)
        try:
            free = f"; {shutil.disk_usage(Path(path).parent).free / 2**20:.1f} MiB free there"
        except OSError:
            free = ""
        advice = ("Free some space (or pass another --dst) and run the same command again: "
                  "it verifies what was written and writes only the rest."
                  if self.no_room else "Fix the cause and run the same command again.")
        super().__init__(code or errno.EIO, f"{path} could not be written completely ({reason})"
                         f"{free}. The previous version of the file, if any, is unchanged. "
                         f"{advice}")

    def __str__(self):
        return self.strerror


# --------------------------------------------------------------------------- writes
def atomic_write_bytes(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly these bytes.

    The bytes go to a temporary file in the same folder that is then renamed over
    ``path`` (``os.replace`` is atomic), so an interrupted run never leaves a
    half-written file under the final name. (No fsync: after a power cut a re-run
    compares bytes and rewrites anything that is not exactly right.) A write that fails
    (e.g. ``ENOSPC``, disk full) removes the temporary file, leaves ``path`` as it was
    and raises :class:`WriteError`. Returns True if the file was (re)written,
    False if it was verified identical and skipped.
    """
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as error:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise WriteError(path, error) from error
    return True


def remove_stale_tmp(folder: Path) -> int:
    """Delete temporary files an interrupted run left in ``folder``; return how many."""
    n = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if TMP_MARK in p.name:
                p.unlink()
                n += 1
    return n


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------- header inspection
def inspect_jpeg(data: bytes) -> dict:
    """Parse JPEG markers: ``{"sof": int, "components": int, "precision": int,
    "adobe_transform": int|None, "truncated": bool}``. Raises BadInput if not a JPEG."""
    if data[:2] != b"\xff\xd8":
        raise BadInput("not a JPEG file (no SOI marker)")
    info = {"sof": None, "components": 0, "precision": 0, "adobe_transform": None}
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end: headers are over
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        seg = data[i + 4 : i + 2 + length]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and len(seg) >= 6:
            info["sof"] = marker - 0xC0
            info["precision"] = seg[0]
            info["components"] = seg[5]
        elif marker == 0xEE and seg[:5] == b"Adobe" and len(seg) >= 12:
            info["adobe_transform"] = seg[11]
        i += 2 + length
    sos = data.rfind(b"\xff\xda")  # no scan at all, or no EOI after the last one
    info["truncated"] = sos < 0 or data.rfind(b"\xff\xd9") < sos
    return info


def inspect_png(data: bytes) -> dict:
    """Parse PNG chunks: ``{"bit_depth", "color_type", "palette": (K, 3) uint8 | None,
    "truncated": bool}``. Raises BadInput if not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise BadInput("not a PNG file (bad signature)")
    info = {"bit_depth": 0, "color_type": -1, "palette": None, "truncated": True}
    i = 8
    while i + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[i : i + 8])
        body = data[i + 8 : i + 8 + length]
        if ctype == b"IHDR" and len(body) >= 10:
            info["bit_depth"], info["color_type"] = body[8], body[9]
        elif ctype == b"PLTE":
            info["palette"] = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif ctype == b"IEND":
            info["truncated"] = False
            break
        i += 12 + length
    return info


def _kind(data: bytes) -> str:
    if data[:2] == b"\xff\xd8":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return "other"


def _decode(data: bytes, flags=cv2.IMREAD_UNCHANGED) -> np.ndarray:
    if not data:
        raise BadInput("empty file")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if arr is None:
        raise BadInput("unreadable (OpenCV cannot decode it)")
    return arr


def _to_8bit(arr: np.ndarray, notes: set) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        notes.add("16bit_to_8bit")
        return ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    raise BadInput(f"unsupported sample type {arr.dtype}")


# -------------------------------------------------------------------------- images
def decode_image(data: bytes) -> tuple[np.ndarray, set, bool]:
    """Decode an image file's bytes -> ``(bgr (H, W, 3) uint8, repairs, copy_ok)``.

    ``repairs`` names what had to change (module docstring); ``copy_ok`` is True when
    the source bytes already are a baseline 3-channel 8-bit JPEG that may be copied.
    """
    kind = _kind(data)
    notes: set = set()
    copy_ok = False
    if kind == "jpeg":
        info = inspect_jpeg(data)
        if info["truncated"]:
            raise BadInput("truncated JPEG (no end-of-image marker after the last scan)")
        if info["components"] == 4:
            notes.add("cmyk_to_rgb")
        elif info["sof"] not in (0, 1):
            notes.add("progressive_jpeg")
        elif info["precision"] == 8 and info["components"] == 3:
            copy_ok = True
    elif kind == "png":
        info = inspect_png(data)
        if info["truncated"]:
            raise BadInput("truncated PNG (no IEND chunk)")
        if info["color_type"] == 3:
            notes.add("palette_expanded")
        notes.add("png_to_jpeg")
    else:
        notes.add("other_format")
    arr = _to_8bit(_decode(data), notes)
    if arr.ndim == 2 or arr.shape[2] == 1:
        notes.add("gray_to_rgb")
        arr = cv2.cvtColor(arr.reshape(arr.shape[:2]), cv2.COLOR_GRAY2BGR)
    elif arr.shape[2] == 4:
        notes.add("alpha_dropped")
        arr = np.ascontiguousarray(arr[:, :, :3])
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
    kind = _kind(data)
    palette = None
    if kind == "png":
        info = inspect_png(data)
        if info["truncated"]:
            raise BadInput("truncated PNG (no IEND chunk)")
        if info["color_type"] == 3 and info["palette"] is not None:
            pal = info["palette"]
            if not (np.all(pal[:, 0] == pal[:, 1]) and np.all(pal[:, 1] == pal[:, 2])):
                palette = pal
    elif kind == "jpeg" and inspect_jpeg(data)["truncated"]:
        raise BadInput("truncated JPEG (no end-of-image marker after the last scan)")
    arr = _to_8bit(_decode(data), notes)
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
