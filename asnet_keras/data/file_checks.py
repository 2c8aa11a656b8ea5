"""Checking one prepared file without trusting it: present, the right format, a header
that parses, the size the layout records, and complete (docs/data_integrity.md §1).

`inspect_file(path, kind, full=False)` reads only the header and the end of a JPEG/PNG
(`quick`), or decodes every pixel too (`full`); a problem raises `BadFile` with the
reason in words. Headers, completeness and decoding are those of `asnet_keras.io`
(docs/data_integrity.md §7); this module adds what training's TensorFlow decoder needs
(8-bit, 1 or 3 components, no lossless JPEG). No TensorFlow.
"""

import os

from asnet_keras.io import (CorruptImage, ImageError, ImageReadError, UnsupportedImage,
                            check_complete, probe_file)


class BadFile(ValueError):
    """A file that training could not read as it should; str() is the reason."""


def file_stat(path):
    """[size, modification time in ns] of a file, None when it cannot be stat-ed: what
    says a file is unchanged without reading it (the verification cache, the inputs of
    `asnet reproduce`'s stages)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _reason(error):
    """A BadFile reason for an `asnet_keras.io` refusal."""
    if isinstance(error, CorruptImage):
        return f"truncated: {error.detail}" if error.truncated else error.detail
    return str(error)


def _check_jpeg(details):
    """Refuse the JPEG kinds TensorFlow's JPEG decoder cannot read as RGB."""
    if details["sof"] in (3, 7, 11, 15):
        raise BadFile("lossless JPEG: TensorFlow's JPEG decoder cannot read it")
    if details["precision"] != 8:
        raise BadFile(f"{details['precision']}-bit JPEG: the training decoder needs 8-bit")
    if details["components"] not in (1, 3):
        raise BadFile(f"{details['components']}-component (CMYK/YCCK) JPEG: TensorFlow's "
                      "JPEG decoder cannot convert it to RGB")


def inspect_file(path, kind="image", full=False):
    """Check one prepared file and return its (height, width).

    Args:
        path: the file.
        kind: "image" (JPEG, or PNG) or "mask" / "fixmap" (PNG).
        full: also decode all its pixels (OpenCV) and compare the decoded size.
    Raises:
        BadFile with the reason (missing, empty, not a JPEG/PNG, truncated, corrupt …).
    """
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise BadFile("missing") from None
    except OSError as error:
        raise BadFile(f"cannot be read ({error.strerror or error})") from None
    if size == 0:
        raise BadFile("empty file (0 bytes)")
    wanted = ("jpeg", "png") if kind == "image" else ("png",)
    try:
        with open(path, "rb") as f:
            try:
                header = probe_file(f)
            except UnsupportedImage:
                header = None
            if header is None or header.format not in wanted:
                f.seek(0)
                head = f.read(8)
                name = "a JPEG" if kind == "image" else "a PNG"
                raise BadFile(f"not {name} file (it starts with bytes {head.hex(' ')}); "
                              "junk or another format")
            if header.format == "jpeg":
                _check_jpeg(header.details)
            check_complete(f, header)
    except ImageError as error:
        raise BadFile(_reason(error)) from None
    except OSError as error:
        raise BadFile(f"cannot be read ({error.strerror or error})") from None
    height, width = header.height, header.width
    if full:
        _decode(path)
    return height, width


def _decode(path):
    """Decode every pixel (`asnet_keras.io.read_file`: OpenCV, the size checked against
    the header)."""
    # OpenCV is loaded for full checks only: the training config imports this module,
    # and loading cv2 changes the environment (LD_LIBRARY_PATH)
    from asnet_keras.io.decoding import read_file

    try:
        read_file(path)
    except ImageReadError as error:
        reason = error.reason
        if isinstance(reason, OSError):
            raise BadFile(f"cannot be read ({reason.strerror or reason})") from None
        raise BadFile(_reason(reason)) from None
