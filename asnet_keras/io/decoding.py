"""The one decoder: image bytes → array, only once the header is known to fit the limit.

docs/data_integrity.md §7. `decode(data, max_pixels)` runs, in order:

1. `headers.probe`: format, size, channels, bytes per sample from the header alone;
   a format it cannot size is refused (`UnsupportedImage`) before any decoder runs;
2. `check_size`: more than `max_pixels` pixels, or a decoded array larger than
   `BYTES_PER_PIXEL` × `max_pixels` bytes (an 8-bit RGBA image of `max_pixels`
   pixels; 16-bit samples count twice), is refused (`ImageTooLarge`);
3. `headers.check_complete`: a JPEG without its end-of-image marker or a PNG without
   its IEND chunk is refused (`CorruptImage`, `truncated`);
4. OpenCV's `imdecode(IMREAD_UNCHANGED)` (no EXIF rotation), which runs with its own
   pixel limit, `OPENCV_IO_MAX_IMAGE_PIXELS`: a header that lied to step 1 is refused
   by the decoder before it allocates. OpenCV reads that variable once, when `cv2` is
   loaded, so this module imports `cv2` with the variable set to `DECODER_MAX_PIXELS`
   (a value the user set is kept; the environment is left as it was); the sub-packages
   that decode images import this module first. `OPENCV_MAX_PIXELS` is the limit in
   force in this process.
5. The decoded array must have the header's size, and fit the limit.

Pillow decodes nothing here (the prober sizes every accepted format), so its own limit
does not come into play.

`read_image(path)` is the package's image reader (`asnet_keras.read_image`): any
accepted file → RGB uint8 (H, W, 3) through `decode` and `as_bgr8`.

Example:
    >>> array, header = decode(open("scan.png", "rb").read())  # 16-bit grey: uint16 (H, W)
    >>> bgr, notes = as_bgr8(array)           # notes: {'16bit_to_8bit', 'gray_to_rgb'}
    >>> read_image("photo.jpg").shape
    (480, 640, 3)
"""

import os
import sys

OPENCV_PIXELS_VARIABLE = "OPENCV_IO_MAX_IMAGE_PIXELS"
#: Largest image accepted by default, in pixels (`serve --max-pixels`, `predict --max-pixels`).
DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels, e.g. 7,746 × 5,164
#: Decoded bytes allowed per pixel of the limit: an 8-bit RGBA pixel.
BYTES_PER_PIXEL = 4
#: OpenCV's own limit set here, and the most `max_pixels` may be raised to.
DECODER_MAX_PIXELS = 4 * DEFAULT_MAX_PIXELS
_OPENCV_DEFAULT = 1 << 30  # OpenCV's value when the variable is not set


def _load_opencv():
    """Import cv2 with `OPENCV_IO_MAX_IMAGE_PIXELS` set (unless the user set it), and
    return (cv2, the pixel limit OpenCV holds in this process).

    OpenCV reads the variable once, when its library loads; it is set for the import
    only and removed again, so importing this module changes no environment variable.
    If cv2 was loaded before, its limit is the variable as it was then (taken to be as it
    is now), or OpenCV's default."""
    loaded = "cv2" in sys.modules
    ours = not loaded and OPENCV_PIXELS_VARIABLE not in os.environ
    if ours:
        os.environ[OPENCV_PIXELS_VARIABLE] = str(DECODER_MAX_PIXELS)
    try:
        value = os.environ.get(OPENCV_PIXELS_VARIABLE, "")
        import cv2  # here, not at the top: the variable must be set while cv2 loads
    finally:
        if ours:
            del os.environ[OPENCV_PIXELS_VARIABLE]
    return cv2, int(value) if value.isdigit() and int(value) > 0 else _OPENCV_DEFAULT


cv2, OPENCV_MAX_PIXELS = _load_opencv()

import numpy as np  # noqa: E402

from asnet_keras.io.errors import (  # noqa: E402
    CorruptImage, ImageError, ImageReadError, ImageTooLarge, UnsupportedImage)
from asnet_keras.io.headers import check_complete, probe, probe_file  # noqa: E402

_UNREADABLE = "unreadable (OpenCV cannot decode it)"
_UNREADABLE_DETAIL = "cannot be decoded: the compressed pixel data is corrupt"
_ROWS_PER_BLOCK = 256  # rows scaled at a time by `to_8bit` (bounds its temporary memory)


def check_max_pixels(max_pixels, name="max_pixels"):
    """`max_pixels` as an int, or ValueError: a whole number from 1 to the decoders' own
    limit in this process (`OPENCV_MAX_PIXELS`)."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
        raise ValueError(f"{name}={max_pixels!r}: pass a whole number of pixels")
    if not 1 <= max_pixels <= OPENCV_MAX_PIXELS:
        raise ValueError(
            f"{name} {max_pixels:,}: pass 1 to {OPENCV_MAX_PIXELS:,} pixels, OpenCV's own "
            f"limit in this process; to go beyond, start the program with "
            f"{OPENCV_PIXELS_VARIABLE} set to at least {max_pixels}")
    return int(max_pixels)


def check_size(header, max_pixels, name="max_pixels"):
    """Raise ImageTooLarge if `header`'s image has more than `max_pixels` pixels or
    decodes to more than `BYTES_PER_PIXEL` × `max_pixels` bytes (docs/data_integrity.md §7).
    `name` is how the caller's user sets the limit (e.g. "serve --max-pixels")."""
    max_pixels = check_max_pixels(max_pixels, name)
    if header.pixels > max_pixels:
        raise ImageTooLarge(
            f"image too large: {header.width:,} × {header.height:,} = {header.pixels:,} "
            f"pixels, the limit is {max_pixels:,} ({name}); downscale it first")
    budget = BYTES_PER_PIXEL * max_pixels
    if header.decoded_bytes > budget:
        raise ImageTooLarge(
            f"image too large: a {header.describe()} decodes to {header.decoded_bytes:,} "
            f"bytes, the limit is {BYTES_PER_PIXEL} bytes per pixel × {max_pixels:,} = "
            f"{budget:,} ({name}; 16-bit samples count twice); downscale it or convert it "
            "to 8 bits first")


def decode(data, max_pixels=DEFAULT_MAX_PIXELS, *, name="max_pixels"):
    """Image file bytes → (the array OpenCV's IMREAD_UNCHANGED gives, its `ImageHeader`).

    The array is uint8, uint16 or float32, (H, W) or (H, W, C) in OpenCV's channel order
    (BGR, BGRA), exactly the array `cv2.imdecode(..., IMREAD_UNCHANGED)` returns for the
    file; nothing is decoded before the header is known to fit (module docstring).

    Raises:
        UnsupportedImage: not a JPEG, PNG, BMP, TIFF or WebP file.
        ImageTooLarge: over `max_pixels` (pixels or decoded bytes).
        CorruptImage: empty, truncated, or pixels OpenCV cannot decode.
    """
    header = probe(data)
    check_size(header, max_pixels, name)
    check_complete(data, header)
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as err:
        if "CV_IO_MAX_IMAGE" in str(err):  # the decoder's own limit: the header lied
            raise ImageTooLarge(f"image too large: the decoder found it larger than OpenCV's "
                                f"limit of {OPENCV_MAX_PIXELS:,} pixels although its header "
                                f"says {header.width:,} × {header.height:,}") from None
        raise CorruptImage(_UNREADABLE, detail=_UNREADABLE_DETAIL) from None
    if array is None:
        raise CorruptImage(_UNREADABLE, detail=_UNREADABLE_DETAIL)
    if array.shape[:2] != (header.height, header.width):
        raise CorruptImage(f"decodes to {array.shape[1]} × {array.shape[0]} px although its "
                           f"header says {header.width} × {header.height}")
    if array.nbytes > BYTES_PER_PIXEL * check_max_pixels(max_pixels, name):
        raise ImageTooLarge(f"image too large: it decodes to {array.nbytes:,} bytes, more "
                            f"than its header said ({header.decoded_bytes:,}) and than the "
                            f"limit ({name})")
    return array, header


def to_8bit(array):
    """16-bit samples → 8 bits, round(v · 255 / 65535) in integers:
    (v · 255 + 32767) // 65535, so 0 → 0, 128 → 0, 129 → 1, 65535 → 255. Any other
    dtype is returned as it is. Scaled a block of rows at a time, so the temporary
    uint32 copy stays small."""
    array = np.asarray(array)
    if array.dtype != np.uint16:
        return array
    out = np.empty(array.shape, np.uint8)
    for start in range(0, max(array.shape[0], 1), _ROWS_PER_BLOCK):
        block = array[start:start + _ROWS_PER_BLOCK].astype(np.uint32)
        block *= 255
        block += 32767
        block //= 65535
        out[start:start + _ROWS_PER_BLOCK] = block
    return out


def as_bgr8(array):
    """A decoded array → (BGR uint8 (H, W, 3), the set of conversions made).

    Conversions, named as `data_prep` reports them: "16bit_to_8bit" (`to_8bit`),
    "gray_to_rgb" (one channel repeated to three), "alpha_dropped" (the fourth channel
    removed).

    Raises:
        UnsupportedImage: samples other than 8 or 16-bit unsigned (float TIFF, say).
    """
    notes = set()
    if array.dtype == np.uint16:
        notes.add("16bit_to_8bit")
        array = to_8bit(array)
    elif array.dtype != np.uint8:
        raise UnsupportedImage(f"unsupported sample type {array.dtype} (8- or 16-bit "
                               "images only)")
    if array.ndim == 3 and array.shape[2] == 2:  # grey + alpha
        notes.add("alpha_dropped")
        array = array[:, :, 0]
    if array.ndim == 2 or array.shape[2] == 1:
        notes.add("gray_to_rgb")
        array = cv2.cvtColor(np.ascontiguousarray(array.reshape(array.shape[:2])),
                             cv2.COLOR_GRAY2BGR)
    elif array.shape[2] == 4:
        notes.add("alpha_dropped")
        array = np.ascontiguousarray(array[:, :, :3])
    return array, notes


def read_file(path, max_pixels=DEFAULT_MAX_PIXELS, *, name="max_pixels"):
    """`decode` of a file, whose header is probed before the rest is read.

    Raises:
        ImageReadError: the file is missing or unreadable, or `decode` refuses it; the
            message names the file, `reason` is the underlying error.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            check_size(probe_file(f), max_pixels, name)
            f.seek(0)
            data = f.read()
        return decode(data, max_pixels, name=name)
    except (OSError, ImageError) as err:
        raise ImageReadError(f"{path}: cannot read this image ({err})", err) from None


def read_image(path, max_pixels=DEFAULT_MAX_PIXELS, *, name="max_pixels"):
    """An image file as RGB uint8 (H, W, 3).

    Grey images are repeated to three channels, RGBA loses its alpha channel, 16-bit
    images are scaled to 8 bits (`as_bgr8`); truncated JPEG/PNG files and images over
    `max_pixels` (module docstring) are refused, as `data_prep` and the service refuse
    them.

    Raises:
        ImageReadError: the file is missing, empty, truncated, too large or not an image
            this package reads; the message names the file and the reason.
    """
    array, _ = read_file(path, max_pixels, name=name)
    try:
        bgr, _ = as_bgr8(array)
    except ImageError as err:
        raise ImageReadError(f"{os.fspath(path)}: cannot read this image ({err})", err) from None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
