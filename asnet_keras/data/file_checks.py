"""Checking one prepared file without trusting it: present, the right format, a header
that parses, the size the layout records, and complete (docs/data_integrity.md §1).

`inspect_file(path, kind, full=False)` reads only the header and the end of a JPEG/PNG
(`quick`), or decodes every pixel too (`full`); a problem raises `BadFile` with the
reason in words. Pure Python + OpenCV: no TensorFlow.
"""

import os
import struct


JPEG_TAIL = 4096  # bytes read at the end of a JPEG to find its end-of-image marker


class BadFile(ValueError):
    """A file that training could not read as it should; str() is the reason."""



def _read_exact(f, count, what):
    data = f.read(count)
    if len(data) < count:
        raise BadFile(f"truncated: the file ends inside its {what}")
    return data


def _jpeg_header(f, size):
    """(height, width, components, offset of the scan data) of an open JPEG."""
    height = width = components = None
    f.seek(2)
    while True:
        byte = f.read(1)
        if not byte:
            raise BadFile("truncated: the file ends before the image data")
        if byte != b"\xff":
            raise BadFile(f"corrupt JPEG header (byte 0x{byte.hex()} where a marker "
                          f"should start, offset {f.tell() - 1})")
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes before a marker
            marker = f.read(1)
        if not marker:
            raise BadFile("truncated: the file ends before the image data")
        code = marker[0]
        if code == 0xD9:
            raise BadFile("corrupt JPEG: end-of-image marker before any image data")
        if code == 0x01 or 0xD0 <= code <= 0xD7:
            continue
        (length,) = struct.unpack(">H", _read_exact(f, 2, "header"))
        if length < 2:
            raise BadFile(f"corrupt JPEG header (segment length {length})")
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            segment = _read_exact(f, length - 2, "header")
            if len(segment) < 6:
                raise BadFile("corrupt JPEG header (short frame header)")
            precision, height, width, components = struct.unpack(">BHHB", segment[:6])
            if code in (0xC3, 0xC7, 0xCB, 0xCF):
                raise BadFile("lossless JPEG: TensorFlow's JPEG decoder cannot read it")
            if precision != 8:
                raise BadFile(f"{precision}-bit JPEG: the training decoder needs 8-bit")
            continue
        if code == 0xDA:
            if height is None:
                raise BadFile("corrupt JPEG: image data before any frame header")
            f.seek(length - 2, os.SEEK_CUR)
            position = f.tell()
            if position >= size:
                raise BadFile("truncated: the file ends where the image data starts")
            return height, width, components, position
        f.seek(length - 2, os.SEEK_CUR)
        if f.tell() > size:
            raise BadFile("truncated: the file ends inside its header")


def _jpeg_complete(f, size, scan):
    """True if an end-of-image marker (FF D9) follows the scan data start. Inside
    entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so
    FF D9 there can only be the end marker."""
    start = max(scan, size - JPEG_TAIL)
    f.seek(start)
    if b"\xff\xd9" in f.read():
        return True
    if start == scan:
        return False
    f.seek(scan)  # trailing bytes after the end marker: search the whole scan data
    previous = b""
    while True:
        block = f.read(1 << 20)
        if not block:
            return False
        if b"\xff\xd9" in previous[-1:] + block:
            return True
        previous = block


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


def _png_header(f, size):
    """(height, width, channels) of an open PNG whose chunk chain is complete."""
    f.seek(8)
    length, kind = struct.unpack(">I4s", _read_exact(f, 8, "header"))
    if kind != b"IHDR" or length != 13:
        raise BadFile("corrupt PNG: the first chunk is not a valid IHDR header")
    width, height, depth, colour = struct.unpack(">IIBB", _read_exact(f, 10, "header"))
    if colour not in _PNG_CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise BadFile(f"corrupt PNG header (bit depth {depth}, colour type {colour})")
    position = 8 + 8 + 13 + 4
    seen_data = False
    while True:
        if position + 8 > size:
            raise BadFile(f"truncated: the PNG ends at byte {size} without its IEND chunk")
        f.seek(position)
        length, kind = struct.unpack(">I4s", f.read(8))
        if not kind.isalpha():
            raise BadFile(f"corrupt PNG: chunk at byte {position} has the invalid type "
                          f"{kind!r}")
        position += 12 + length
        if position > size:
            raise BadFile(f"truncated: the PNG's {kind.decode('ascii')} chunk runs past "
                          f"the end of the file (byte {size})")
        seen_data = seen_data or kind == b"IDAT"
        if kind == b"IEND":
            if not seen_data:
                raise BadFile("corrupt PNG: no image data (IDAT) before IEND")
            return height, width, _PNG_CHANNELS[colour]


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
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if head[:3] == b"\xff\xd8\xff" and kind == "image":
                height, width, components, scan = _jpeg_header(f, size)
                if components not in (1, 3):
                    raise BadFile(f"{components}-component (CMYK/YCCK) JPEG: TensorFlow's "
                                  "JPEG decoder cannot convert it to RGB")
                if not _jpeg_complete(f, size, scan):
                    raise BadFile(f"truncated: no JPEG end-of-image marker after the image "
                                  f"data (the file ends at byte {size})")
            elif head == _PNG_SIGNATURE:
                height, width, _ = _png_header(f, size)
            else:
                wanted = "a JPEG" if kind == "image" else "a PNG"
                raise BadFile(f"not {wanted} file (it starts with bytes {head[:8].hex(' ')}); "
                              "junk or another format")
    except OSError as error:
        raise BadFile(f"cannot be read ({error.strerror or error})") from None
    if height == 0 or width == 0:
        raise BadFile(f"corrupt header: the image is {height}×{width} px")
    if full:
        _decode(path, kind, (height, width))
    return height, width


def _decode(path, kind, header_hw):
    import cv2
    import numpy as np

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise BadFile(f"cannot be read ({error.strerror or error})") from None
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None:
        raise BadFile("cannot be decoded: the compressed pixel data is corrupt")
    if tuple(array.shape[:2]) != tuple(header_hw):
        raise BadFile(f"decodes to {array.shape[0]}×{array.shape[1]} px although its header "
                      f"says {header_hw[0]}×{header_hw[1]}")
