"""Reading an image file the way the authors' `main.py` did, for `--postprocess released`.

`main.py` reads images with SciPy 1.0's `scipy.misc.imread`, which returns the Pillow
image as an array after two mode changes: a palette image ("P") becomes RGB (RGBA if the
file declares a transparent colour) and a 1-bit image becomes 8-bit grey ("L"). Whether
that array is 2-D or 3-D decides everything downstream: a 2-D array is copied into a
float64 (H, W, 3) array, and SciPy's `imresize` then stretches it min–max to 0…255
before resizing; a 3-D uint8 array is resized as it is (docs/released_pipeline.md §1).

`read_image_released` returns exactly that array for the kinds `main.py` reads, and a
documented substitute for the kinds it fails on (alpha channels, CMYK); the table of
kinds is docs/released_pipeline.md §2, how it is reproduced §3. Pixels are decoded by
`asnet_keras.io.decode`, like the default reader `asnet_keras.io.read_image` (header
probed and the pixel limit checked first, OpenCV, no EXIF rotation, truncated JPEG/PNG
files refused; docs/data_integrity.md §7); what the file header says (PNG colour type,
BMP palette) decides the shape, as Pillow's mode would. The tests check the
result against Pillow + SciPy 1.0's rules for every kind.

Example:
    >>> image = read_image_released("scan.png")   # 8-bit grey PNG
    >>> image.shape, image.dtype
    ((375, 500), dtype('uint8'))
    >>> read_image_released("photo.jpg").shape     # colour JPEG
    (375, 500, 3)
"""

import os

import numpy as np

from asnet_keras.io import DEFAULT_MAX_PIXELS, ImageReadError, UnsupportedImage, decode

# PNG colour type (IHDR) of grey + alpha; the others: 0 grey, 2 RGB, 3 palette, 6 RGBA.
PNG_GREY_ALPHA = 4


def read_image_released(path, max_pixels=DEFAULT_MAX_PIXELS, *, name="max_pixels"):
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
        ImageReadError: the file is missing, empty, truncated, over `max_pixels`, not an
            image, or a colour image with float samples (which Pillow, hence `main.py`,
            cannot read).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
        return decode_released(data, max_pixels, name=name)
    except (OSError, ValueError) as err:
        raise ImageReadError(f"{path}: cannot read this image ({err})", err) from None


def decode_released(data, max_pixels=DEFAULT_MAX_PIXELS, *, name="max_pixels"):
    """`read_image_released` for a file's bytes (raises `asnet_keras.io.ImageError`)."""
    array, header = decode(data, max_pixels, name=name)
    png_colour_type = header.details["colour_type"] if header.format == "png" else None
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]

    if png_colour_type == PNG_GREY_ALPHA:
        # OpenCV expands grey + alpha to BGRA with B = G = R = grey (8 or 16 bits).
        # main.py cannot use it (Pillow "LA" is 2 channels, 16-bit LA opens as RGBA);
        # as a grey PNG without alpha, it would be 2-D at full depth (§2).
        return np.ascontiguousarray(array[..., 0])
    if array.ndim == 2:
        if header.format == "bmp" and not bmp_palette_is_pillow_grey(header):
            # Pillow keeps such a BMP as "P" (palette), so imread returns RGB.
            return np.repeat(array[..., None], 3, axis=-1)
        return array  # uint8, uint16 or float32: main.py's 2-D case
    if array.shape[2] == 2:  # grey + alpha from another format (not PNG)
        return np.ascontiguousarray(array[..., 0])
    rgb = array[..., 2::-1]  # BGR(A) → RGB; an alpha channel is dropped
    if rgb.dtype == np.uint16:
        rgb = rgb >> 8  # Pillow reads 16-bit colour as its high byte ("RGB;16B")
    elif rgb.dtype != np.uint8:
        raise UnsupportedImage(f"colour image with {rgb.dtype} samples is not supported")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def bmp_palette_is_pillow_grey(header):
    """True if Pillow reads this BMP as grey ("L" or "1"), so `imread` returns 2-D.

    Pillow drops a BMP palette only when it is the identity ramp: entry i is (i, i, i)
    for every entry, or, with exactly 2 entries, black then white. Any other palette,
    grey or not, gives mode "P", which `imread` turns into RGB. Files without a palette
    (16/24/32 bits per pixel) return False.

    Args:
        header: the BMP's `asnet_keras.io.ImageHeader` (its palette as the file holds it).
    """
    details = header.details
    if details["bits"] > 8:
        return False
    palette, entry = details["palette"], details["palette_entry"]
    colours = len(palette) // entry
    ramp = (0, 255) if colours == 2 else range(colours)
    return colours > 0 and all(
        palette[i * entry : i * entry + 3] == bytes((value,)) * 3
        for i, value in enumerate(ramp)
    )
