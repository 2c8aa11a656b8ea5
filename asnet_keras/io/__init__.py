"""Reading and writing files, the bottom layer of the package: numpy and OpenCV only.

No TensorFlow, no Keras: `data_prep`, the metrics side and the service use it without
loading either (tested). Each contract has its home here:

    headers   the one image-header prober: format, size, channels, bytes per sample
              for JPEG, PNG, BMP, TIFF and WebP, and the JPEG/PNG completeness check
    decoding  the one decoder, run only once the header fits the limit (pixels and
              decoded bytes), with OpenCV's own pixel limit set; 16 → 8-bit scaling;
              `read_image`, the package's image reader (its names load on first use)
    released_reading  an image read as the authors' main.py read it (`--postprocess
              released`: grey files stay 2-D; docs/released_pipeline.md §1–§3)
    encoding  the one encoder: RGB, RGBA or grey uint8 → PNG/JPEG bytes or a file
              written atomically (its names load on first use)
    atomic_files  outputs written completely or not at all (full disk included)
    errors    why an image is refused (415 / 413 / 422 in the service)

Rules: docs/data_integrity.md §5 (atomic writes), §7 (headers, limits, decoding).
`asnet_keras.io.decoding` loads OpenCV with its own pixel limit set
(`OPENCV_IO_MAX_IMAGE_PIXELS`, read once when cv2 loads): `decoding`'s docstring says
why; the sub-packages that decode images import it before anything loads cv2.

Example:
    >>> from asnet_keras import io
    >>> io.probe(data).describe()
    '6,000 × 6,000 16-bit RGB PNG'
    >>> image = io.read_image("photo.jpg", max_pixels=io.DEFAULT_MAX_PIXELS)
"""

import importlib

from asnet_keras.io.errors import (  # noqa: F401
    CorruptImage,
    ImageError,
    ImageReadError,
    ImageTooLarge,
    UnsupportedImage,
)
from asnet_keras.io.headers import (  # noqa: F401
    IMAGE_EXTENSIONS,
    ImageHeader,
    check_complete,
    probe,
    probe_file,
)

# `decoding` loads OpenCV, which sets LD_LIBRARY_PATH as it loads: its names are loaded on
# first use, so that importing the headers, the errors or `atomic_files` loads no cv2.
_DECODING = ("BYTES_PER_PIXEL", "DECODER_MAX_PIXELS", "DEFAULT_MAX_PIXELS",
             "OPENCV_MAX_PIXELS", "as_bgr8", "check_max_pixels", "check_size", "decode",
             "read_file", "read_image", "to_8bit")


_ENCODING = ("JPEG_QUALITY", "encode_image", "write_image")


def __getattr__(name):
    if name in _DECODING:
        return getattr(importlib.import_module("asnet_keras.io.decoding"), name)
    if name in _ENCODING:
        return getattr(importlib.import_module("asnet_keras.io.encoding"), name)
    raise AttributeError(f"module 'asnet_keras.io' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_DECODING) + list(_ENCODING))
