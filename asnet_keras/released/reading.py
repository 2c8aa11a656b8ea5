"""Reading an image file the way the authors' `main.py` did, for `--postprocess released`.

`main.py` reads images with SciPy 1.0's `scipy.misc.imread`, which returns the Pillow
image as an array after two mode changes: a palette image ("P") becomes RGB (RGBA if the
file declares a transparent colour) and a 1-bit image becomes 8-bit grey ("L"). Whether
that array is 2-D or 3-D decides everything downstream: a 2-D array is copied into a
float64 (H, W, 3) array, and SciPy's `imresize` then stretches it min–max to 0…255
before resizing; a 3-D uint8 array is resized as it is (docs/released_pipeline.md §1).

`read_image_released` returns exactly that array for the kinds `main.py` reads, and a
documented substitute for the kinds it fails on (alpha channels, CMYK); the table of
kinds is docs/released_pipeline.md §2, how it is reproduced §3. Pixels are decoded with
OpenCV, like the default reader `asnet_keras.inference.read_image` (no EXIF rotation,
truncated JPEG/PNG files refused); what the file header says (PNG colour type, JPEG
components, BMP palette) decides the shape, as Pillow's mode would. The tests check the
result against Pillow + SciPy 1.0's rules for every kind.

Example:
    >>> image = read_image_released("scan.png")   # 8-bit grey PNG
    >>> image.shape, image.dtype
    ((375, 500), dtype('uint8'))
    >>> read_image_released("photo.jpg").shape     # colour JPEG
    (375, 500, 3)
"""

import os
import struct

import cv2
import numpy as np

from asnet_keras.inference.images import ImageReadError

# PNG colour type (IHDR) of grey + alpha; the others: 0 grey, 2 RGB, 3 palette, 6 RGBA.
PNG_GREY_ALPHA = 4


def read_image_released(path):
    """An image file as the array `main.py`'s `imread` gives (docs/released_pipeline.md §2).

    Returns:
        - (H, W) for the kinds `main.py` reads as grey: 8-bit grey PNG/JPEG/BMP/TIFF
          (uint8), 1/2/4-bit grey PNG and 1-bit images (uint8, 0…255), 16-bit grey PNG
          or TIFF (uint16, all 16 bits kept), 32-bit float grey TIFF (float32);
        - (H, W, 3) uint8 RGB for everything else: colour images, palette images (even
          with a grey palette), grey stored as three equal channels, and 16-bit colour
          (its high byte, as Pillow reads it).
        Kinds `main.py` fails on are read as the same picture without its alpha
        channel: grey + alpha → (H, W) grey at its full depth; RGBA, palette with
        transparency → RGB; CMYK JPEG → RGB by OpenCV's conversion (§2).

    Raises:
        ImageReadError: the file is missing, empty, truncated, not an image, or a
            colour image with float samples (which Pillow, hence `main.py`, cannot read).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
        return decode_released(data)
    except (OSError, ValueError) as err:
        raise ImageReadError(f"{path}: cannot read this image ({err})") from None


def decode_released(data):
    """`read_image_released` for a file's bytes (raises `data_prep.io.BadInput`)."""
    from data_prep.io import BadInput, inspect_jpeg, inspect_png

    if not data:
        raise BadInput("empty file")
    png_colour_type = None
    if data[:2] == b"\xff\xd8":
        if inspect_jpeg(data)["truncated"]:
            raise BadInput("truncated JPEG (no end-of-image marker after the last scan)")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        info = inspect_png(data)
        if info["truncated"]:
            raise BadInput("truncated PNG (no IEND chunk)")
        png_colour_type = info["color_type"]
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise BadInput("unreadable (OpenCV cannot decode it)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]

    if png_colour_type == PNG_GREY_ALPHA:
        # OpenCV expands grey + alpha to BGRA with B = G = R = grey (8 or 16 bits).
        # main.py cannot use it (Pillow "LA" is 2 channels, 16-bit LA opens as RGBA);
        # as a grey PNG without alpha, it would be 2-D at full depth (§2).
        return np.ascontiguousarray(array[..., 0])
    if array.ndim == 2:
        if data[:2] == b"BM" and not bmp_palette_is_pillow_grey(data):
            # Pillow keeps such a BMP as "P" (palette), so imread returns RGB.
            return np.repeat(array[..., None], 3, axis=-1)
        return array  # uint8, uint16 or float32: main.py's 2-D case
    if array.shape[2] == 2:  # grey + alpha from another format (not PNG)
        return np.ascontiguousarray(array[..., 0])
    rgb = array[..., 2::-1]  # BGR(A) → RGB; an alpha channel is dropped
    if rgb.dtype == np.uint16:
        rgb = rgb >> 8  # Pillow reads 16-bit colour as its high byte ("RGB;16B")
    elif rgb.dtype != np.uint8:
        raise BadInput(f"colour image with {rgb.dtype} samples is not supported")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def bmp_palette_is_pillow_grey(data):
    """True if Pillow reads this BMP as grey ("L" or "1"), so `imread` returns 2-D.

    Pillow drops a BMP palette only when it is the identity ramp: entry i is (i, i, i)
    for every entry, or, with exactly 2 entries, black then white. Any other palette,
    grey or not, gives mode "P", which `imread` turns into RGB. Files without a palette
    (16/24/32 bits per pixel) return False.
    """
    if len(data) < 30:
        return False
    (header_size,) = struct.unpack_from("<I", data, 14)
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 3-byte palette entries
        (bits,) = struct.unpack_from("<H", data, 24)
        colours, entry = 1 << bits, 3
    else:  # BITMAPINFOHEADER and later: 4-byte entries, count in biClrUsed
        (bits,) = struct.unpack_from("<H", data, 28)
        if bits > 8:
            return False
        colours = struct.unpack_from("<I", data, 46)[0] if len(data) >= 50 else 0
        colours, entry = colours or 1 << bits, 4
    if bits > 8:
        return False
    start = 14 + header_size
    palette = data[start : start + entry * colours]
    ramp = (0, 255) if colours == 2 else range(colours)
    return all(
        palette[i * entry : i * entry + 3] == bytes((value,)) * 3
        for i, value in enumerate(ramp)
    )


def display_rgb(image):
    """A `read_image_released` array as RGB uint8 (H, W, 3), for overlays only.

    Grey is repeated to three channels; 16-bit grey is scaled to 8 bits as the default
    reader does ((v·255 + 32767) // 65535); float grey is min–max stretched. This never
    feeds the network.
    """
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        from asnet_keras.inference.released_processing import bytescale

        image = bytescale(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return image
