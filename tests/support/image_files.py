"""Image files built byte by byte, for the header prober and the decoding limits
(`asnet_keras.io`, docs/data_integrity.md §7): every format's header with the size,
channels and depth a test chooses, and the hostile files of the service's tests.

Shared by tests/io/ and tests/serving/test_upload_limits.py.
"""

import struct
import zlib

import cv2
import numpy as np


# --------------------------------------------------------------------------- JPEG
def segment(marker, body=b""):
    """A JPEG marker segment: FF <marker> <length> <body>."""
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def sof(width, height, components=3, precision=8, kind=0xC0):
    """A frame header (SOF0 by default) for `components` components."""
    body = struct.pack(">BHHB", precision, height, width, components)
    body += b"".join(bytes((i + 1, 0x11, 0)) for i in range(components))
    return segment(kind, body)


def exif_with_thumbnail():
    """An APP1 EXIF segment that holds a whole thumbnail JPEG (its own SOI, SOF0
    160 × 120, EOI): a reader must skip it by its length, not follow its markers."""
    thumbnail = b"\xff\xd8" + sof(160, 120) + segment(0xDA, b"\x03\x01\x00\x02\x11\x03\x11"
                                                        b"\x00\x3f\x00") + b"\x12\x34\xff\xd9"
    tiff = b"II*\x00\x08\x00\x00\x00\x00\x00"
    return segment(0xE1, b"Exif\x00\x00" + tiff + thumbnail)


def jpeg_header(width, height, components=3, precision=8, kind=0xC0, before_frame=b"",
                adobe_transform=None):
    """SOI, JFIF APP0, EXIF APP1 (with a thumbnail), a comment, fill bytes, `before_frame`
    (e.g. stray bytes libjpeg skips), the frame header, DHT and a start of scan."""
    out = b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += exif_with_thumbnail() + segment(0xFE, b"made by hand")
    if adobe_transform is not None:
        out += segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00" + bytes((adobe_transform,)))
    out += b"\xff\xff\xff" + segment(0xDB, bytes(65))  # fill bytes, then a DQT
    out += before_frame + sof(width, height, components, precision, kind)
    out += segment(0xC4, bytes(17 + 12))
    out += segment(0xDA, bytes((components,)) + bytes(2 * components) + b"\x00\x3f\x00")
    return out


def real_jpeg(height, width, grey=True, progressive=False):
    """A JPEG of a flat image as OpenCV encodes it."""
    shape = (height, width) if grey else (height, width, 3)
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if progressive else []
    ok, buf = cv2.imencode(".jpg", np.full(shape, 128, np.uint8), params)
    assert ok
    return buf.tobytes()


def with_stray_bytes_before_frame(jpeg):
    """The JPEG with two bytes that are no marker before its frame header: libjpeg (so
    OpenCV) skips them with a warning; the service's header reader up to this change
    gave up on such a file and let OpenCV decode it in full."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[:at] + b"\x00\x11" + jpeg[at:]


# ---------------------------------------------------------------------------- PNG
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header(width, height, bit_depth=8, colour_type=2, extra=b""):
    """Signature, IHDR, `extra` chunks, and nothing more (no IDAT, no IEND)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra


def flat_png(width, height, bit_depth=16, colour_type=2):
    """A complete, valid PNG of zeros, compressed a row at a time (a 6000 × 6000 16-bit
    RGB image is about 210 KB and never held in memory whole)."""
    samples = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\0" * (1 + width * samples * bit_depth // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return png_header(width, height, bit_depth, colour_type) + chunk(b"IDAT", data) + chunk(
        b"IEND", b"")


# ---------------------------------------------------------------------------- BMP
def bmp(width, height, bits=24, palette=None, compression=0, info_size=40, pixels=True):
    """A BMP with a BITMAPINFOHEADER (or longer) or, with info_size=12, an OS/2 core
    header; `height` < 0 is top-down; `palette` is a list of (b, g, r)."""
    row = (abs(width) * bits + 31) // 32 * 4
    data = bytes(row * abs(height)) if pixels else b""
    if info_size == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
        table = b"".join(bytes(entry) for entry in palette or [])
    else:
        info = struct.pack("<IiiHHIIiiII", info_size, width, height, 1, bits, compression,
                           len(data), 2835, 2835, len(palette or []), 0)
        if compression == 3:
            info += struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)
        info += bytes(max(0, info_size - len(info)))
        table = b"".join(bytes(entry) + b"\0" for entry in palette or [])
    offset = 14 + len(info) + len(table)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + table + data


# --------------------------------------------------------------------------- TIFF
def tiff(width, height, bits=(8,), photometric=1, order="<", big=False, pixels=True,
         sample_format=1):
    """An uncompressed one-strip TIFF (classic or BigTIFF, either byte order) whose first
    directory says width × height and BitsPerSample `bits` (one value per sample)."""
    samples = len(bits)
    data = bytes(width * height * samples * max(bits) // 8) if pixels else b""
    offset, long_kind = ("Q", 16) if big else ("I", 4)
    count, entry_size, inline = ("Q", 20, 8) if big else ("H", 12, 4)
    header_size = 16 if big else 8

    def directory(strip_at):
        entries = [(256, long_kind, [width]), (257, long_kind, [height]),
                   (258, 3, list(bits)), (259, 3, [1]), (262, 3, [photometric]),
                   (273, long_kind, [strip_at]), (277, 3, [samples]),
                   (278, long_kind, [height]), (279, long_kind, [len(data)]),
                   (339, 3, [sample_format] * samples)]
        table, extra = b"", b""
        extra_at = header_size + struct.calcsize(order + count) + len(entries) * entry_size \
            + inline
        for tag, kind, values in entries:
            body = struct.pack(f"{order}{len(values)}{dict([(3, 'H'), (4, 'I'), (16, 'Q')])[kind]}",
                               *values)
            if len(body) > inline:  # stored after the directory, the entry points to it
                value = struct.pack(order + offset, extra_at + len(extra))
                extra += body
            else:
                value = body + bytes(inline - len(body))
            table += struct.pack(order + "HH" + offset, tag, kind, len(values)) + value
        return struct.pack(order + count, len(entries)) + table + bytes(inline), extra

    table, extra = directory(0)
    table, extra = directory(header_size + len(table) + len(extra))
    marker = b"II" if order == "<" else b"MM"
    if big:
        header = marker + struct.pack(order + "HHHQ", 43, 8, 0, header_size)
    else:
        header = marker + struct.pack(order + "HI", 42, header_size)
    return header + table + extra + data


# --------------------------------------------------------------------------- WebP
def webp(kind, width, height, alpha=False, animated=False):
    """The RIFF container and the first chunk's header only (no image data)."""
    if kind == "VP8 ":
        payload = b"\x50\x02\x00\x9d\x01\x2a" + struct.pack("<HH", width, height)
    elif kind == "VP8L":
        bits = (width - 1) | (height - 1) << 14 | int(alpha) << 28
        payload = b"\x2f" + struct.pack("<I", bits)
    else:
        flags = 0x10 * alpha | 0x02 * animated
        payload = bytes((flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (
            height - 1).to_bytes(3, "little")
    body = b"WEBP" + kind.encode() + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -------------------------------------------------------------------------- others
def radiance_hdr(width, height):
    """A complete Radiance HDR (RGBE, run-length encoded scanlines) of one flat colour:
    OpenCV decodes it to float32 (H, W, 3); 8000 × 8000 takes about 4 MB."""
    assert 8 <= width < 32768
    runs = []
    left = width
    while left:
        n = min(127, left)
        runs.append(bytes((128 + n,)))
        left -= n
    line = b"\x02\x02" + struct.pack(">H", width)
    for value in (128, 64, 32, 129):  # R, G, B mantissas and the shared exponent
        line += b"".join(run + bytes((value,)) for run in runs)
    header = (f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n").encode()
    return header + line * height


def ppm(width, height):
    """A binary PPM (P6) header with its pixels, all zero."""
    return f"P6\n{width} {height}\n255\n".encode() + bytes(width * height * 3)
