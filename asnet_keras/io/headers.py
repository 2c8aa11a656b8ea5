"""The one image-header prober: format, size, channels and sample size, no decoder run.

docs/data_integrity.md §7. `probe(data)` reads an image's bytes, `probe_file(f)` an
open binary file (seeking, reading only the header); both return an `ImageHeader` or
raise `UnsupportedImage` (a format this package does not read: refused before any
decoder runs) or `CorruptImage` (a header that does not parse or ends before the size).

Formats, as OpenCV recognises them by their first bytes:

- JPEG (`FF D8 FF`): markers are walked as libjpeg walks them — bytes before a marker
  that are not `FF` are skipped, `FF` fill bytes too, `RSTn`/`TEM` carry no length,
  every other segment (APPn with EXIF, COM, DQT, DHT, DRI, …) is skipped by its length —
  up to the start of scan; the first frame header (SOF0–SOF15 but DHT, JPG, DAC: every
  process, progressive and lossless included) gives the size.
- PNG: the IHDR chunk, and the chunks before the first IDAT (PLTE, tRNS).
- BMP: the file and info headers (OS/2 12-byte core header or Windows 40–124 bytes),
  negative height (top-down) included, and the palette of 1–8-bit images.
- TIFF: classic (`II*\\0`, `MM\\0*`) and BigTIFF (`II+\\0`, `MM\\0+`), both byte
  orders; the first image file directory (the image OpenCV reads).
- WebP: the RIFF container's first chunk, `VP8 ` (lossy), `VP8L` (lossless) or `VP8X`
  (extended: the canvas size, alpha and animation flags).

`ImageHeader.channels` and `bytes_per_sample` describe the array OpenCV's
`IMREAD_UNCHANGED` decodes the file to (checked for every kind by the tests): a palette
is 3 channels (4 with a tRNS chunk in PNG), grey + alpha PNG becomes 4, a CMYK JPEG 3;
1–8-bit samples are 1 byte, 16-bit 2, 32-bit float TIFF 4. So `decoded_bytes` is the
memory the decoder is about to allocate, known before it runs.

`check_complete(data_or_file, header)` is the completeness check for JPEG (an
end-of-image marker after the last start of scan) and PNG (an unbroken chunk chain up to
IEND); the decoder and the prepared-data checks both use it.

Example:
    >>> header = probe(open("photo.jpg", "rb").read())
    >>> header.format, header.width, header.height, header.channels
    ('jpeg', 640, 480, 3)
    >>> header.decoded_bytes
    921600
"""

import dataclasses
import struct

from asnet_keras.io.errors import CorruptImage, UnsupportedImage

FORMATS = ("jpeg", "png", "bmp", "tiff", "webp")
#: File name extensions of the formats above (what `predict` picks from a folder).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
ACCEPTED = "a JPEG, PNG, BMP, TIFF or WebP file"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
_BLOCK = 1 << 16  # bytes read at a time where a marker or chunk is searched for


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image's header says, before any pixel is decoded.

    Attributes:
        format: one of `FORMATS`.
        width, height: pixels (both ≥ 1).
        channels: channels of the decoded array (1 grey, 3 colour, 4 with alpha).
        bytes_per_sample: 1 (up to 8 bits), 2 (16 bits), 4 (32-bit TIFF), 8 (64-bit).
        details: format-specific facts read on the way. JPEG: `sof` (0–15, the frame
            kind: 0/1 baseline, 2 progressive, 3 lossless, …), `precision` (bits),
            `components`, `adobe_transform` (APP14, or None), `scan_offset` (first byte
            after the first start-of-scan header, None if the data ends before it).
            PNG: `bit_depth`, `colour_type`, `palette` (PLTE bytes, or None),
            `transparency` (a tRNS chunk), `data_offset` (the first IDAT chunk, None if
            the data ends before it). BMP: `header_size`, `bits`, `compression`,
            `palette` (bytes) and `palette_entry` (3 or 4 bytes per entry). TIFF:
            `bits`, `samples`, `photometric`, `sample_format`, `big` (BigTIFF). WebP:
            `chunk` ("VP8 ", "VP8L" or "VP8X"), `alpha`, `animated`.
    """

    format: str
    width: int
    height: int
    channels: int
    bytes_per_sample: int
    details: dict = dataclasses.field(default_factory=dict, compare=False)

    @property
    def pixels(self):
        return self.width * self.height

    @property
    def decoded_bytes(self):
        """width × height × channels × bytes per sample: the decoded array's size."""
        return self.pixels * self.channels * self.bytes_per_sample

    def describe(self):
        """'6,000 × 6,000 16-bit RGB PNG' — for messages."""
        kind = {1: "grey", 3: "RGB", 4: "RGBA"}.get(self.channels, f"{self.channels}-channel")
        depth = f"{8 * self.bytes_per_sample}-bit " if self.bytes_per_sample > 1 else ""
        return f"{self.width:,} × {self.height:,} {depth}{kind} {self.format.upper()}"


class _Source:
    """Random access to an image's bytes: `size` and `read(offset, count)`."""

    def last(self, needles):
        """(position, needle) of the last occurrence of any of `needles` (2 bytes each),
        or (-1, None): read backwards from the end, the last 4 KiB first, then one
        64 KiB block at a time."""
        high, size = self.size, 4096
        while high >= 2:
            low = max(0, high - size)
            size = _BLOCK
            block = self.read(low, high - low)
            found = max((block.rfind(needle), needle) for needle in needles)
            if found[0] >= 0:
                return low + found[0], found[1]
            if low == 0:
                break
            high = low + 1  # a needle across the block boundary
        return -1, None


class _Bytes(_Source):
    """An image held in memory."""

    def __init__(self, data):
        # bytes and bytearray slice and search in place; a memoryview is copied once
        self.data = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        self.size = len(self.data)

    def read(self, offset, count):
        return bytes(self.data[offset:offset + count])


class _File(_Source):
    """An open binary file (seek + read)."""

    def __init__(self, f):
        self.f = f
        f.seek(0, 2)
        self.size = f.tell()

    def read(self, offset, count):
        self.f.seek(offset)
        return self.f.read(count)


def _source(data_or_file):
    if isinstance(data_or_file, _Source):
        return data_or_file
    if isinstance(data_or_file, (bytes, bytearray, memoryview)):
        return _Bytes(data_or_file)
    return _File(data_or_file)


def probe(data):
    """The header of an image held in memory (bytes, bytearray or memoryview).

    Raises:
        UnsupportedImage: not a JPEG, PNG, BMP, TIFF or WebP file.
        CorruptImage: empty, or a header that does not parse or ends before the size.
    """
    return _probe(_Bytes(data))


def probe_file(f):
    """`probe` for an open binary file: reads the header only (seeks as needed)."""
    return _probe(_File(f))


def _probe(src):
    head = src.read(0, 16)
    if not head:
        raise CorruptImage("empty file")
    if head.startswith(JPEG_SIGNATURE):
        return _probe_jpeg(src)
    if head.startswith(PNG_SIGNATURE):
        return _probe_png(src)
    if head.startswith(b"BM"):
        return _probe_bmp(src)
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return _probe_tiff(src)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _probe_webp(src)
    raise UnsupportedImage(_unsupported_message(head))


# Formats OpenCV (or others) read that the prober does not size, named in the refusal.
_OTHER_SIGNATURES = (
    (b"GIF8", "GIF"), (b"\x59\xa6\x6a\x95", "Sun raster"), (b"#?", "Radiance HDR"),
    (b"\x76\x2f\x31\x01", "OpenEXR"), (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\0\0\0\x0cjP  ", "JPEG 2000"), (b"PF\n", "PFM"), (b"Pf\n", "PFM"),
    (b"8BPS", "Photoshop"), (b"\0\0\1\0", "ICO"),
)


def _unsupported_message(head):
    for signature, name in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return f"not an image format read here ({name}): send {ACCEPTED}"
    if len(head) >= 3 and head[0:1] == b"P" and head[1] in b"1234567" and head[2] in b" \t\r\n#":
        return f"not an image format read here (PNM: PBM/PGM/PPM/PAM): send {ACCEPTED}"
    if head[4:8] == b"ftyp":
        return f"not an image format read here (HEIF/AVIF): send {ACCEPTED}"
    return (f"not an image: the bytes start like no JPEG, PNG, BMP, TIFF or WebP file "
            f"(first bytes {head[:8].hex(' ')})")


def _truncated_header(name, where):
    return CorruptImage(f"truncated {name}: the file ends inside its header ({where})",
                        truncated=True, detail=f"the file ends inside its header ({where})")


# --------------------------------------------------------------------------- JPEG
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC
_NO_LENGTH = frozenset(range(0xD0, 0xD8)) | {0x01}  # RST0–RST7, TEM


class _EndOfData(Exception):
    pass


def _next_marker(src, position):
    """libjpeg's marker search from `position`: skip bytes up to an FF, then FF fill
    bytes; FF 00 (a stuffed zero) is skipped too. Returns (marker, position after it)."""
    size = 64  # the marker is usually the next byte: read little first
    while True:
        block = src.read(position, size)
        size = _BLOCK
        if not block:
            raise _EndOfData
        found = block.find(b"\xff")
        if found < 0:
            position += len(block)
            continue
        position += found + 1
        while True:
            byte = src.read(position, 1)
            if not byte:
                raise _EndOfData
            position += 1
            if byte != b"\xff":
                break
        if byte != b"\0":
            return byte[0], position


def _probe_jpeg(src):
    details = {"sof": None, "precision": 0, "components": 0, "adobe_transform": None,
               "scan_offset": None}
    size = None
    position = 2
    while True:
        try:
            marker, position = _next_marker(src, position)
        except _EndOfData:
            break
        if marker in _NO_LENGTH:
            continue
        if marker == 0xD8:
            raise CorruptImage("corrupt JPEG: a second start-of-image marker in the header")
        if marker == 0xD9:
            raise CorruptImage("corrupt JPEG: end-of-image marker before any image data")
        raw = src.read(position, 2)
        if len(raw) < 2:
            break
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            raise CorruptImage(f"corrupt JPEG header (segment length {length} at byte "
                               f"{position})")
        if marker == 0xDA:
            if size is None:
                raise CorruptImage("corrupt JPEG: image data before any frame header")
            details["scan_offset"] = position + length
            break
        if marker in _SOF_MARKERS:
            if size is not None:
                raise CorruptImage("corrupt JPEG: a second frame header")
            segment = src.read(position + 2, 6)
            if len(segment) < 6:
                break
            precision, height, width, components = struct.unpack(">BHHB", segment)
            if height == 0 or width == 0 or components == 0:
                raise CorruptImage(f"corrupt JPEG header: the frame is {width} × {height} px "
                                   f"with {components} components")
            if length < 8 + 3 * components:
                raise CorruptImage(f"corrupt JPEG header (frame header of {length} bytes for "
                                   f"{components} components)")
            details.update(sof=marker - 0xC0, precision=precision, components=components)
            size = (width, height)
        elif marker == 0xEE:
            segment = src.read(position + 2, min(length - 2, 12))
            if segment[:5] == b"Adobe" and len(segment) >= 12:
                details["adobe_transform"] = segment[11]
        position += length
    if size is None:
        raise _truncated_header("JPEG", "no frame header")
    channels = 1 if details["components"] == 1 else 3  # OpenCV: CMYK/YCCK → 3 channels
    return ImageHeader("jpeg", size[0], size[1], channels,
                       1 if details["precision"] <= 8 else 2, details)


def _jpeg_complete(src):
    """An end-of-image marker after the last start-of-scan marker (the header walk found
    a first one): the last of the two markers in the file is the end marker. Inside
    entropy-coded data an FF byte is followed by 00 or a restart marker, so FF D9 and
    FF DA there are markers; trailing bytes after the end marker are allowed. Read from
    the end of the file, so a complete file costs one block."""
    return src.last((b"\xff\xd9", b"\xff\xda"))[1] == b"\xff\xd9"


# ---------------------------------------------------------------------------- PNG
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_MAX_CHUNK = 2**31 - 1


def _png_chunk(src, position):
    """(length, type) of the chunk at `position`, or None where the data ends."""
    raw = src.read(position, 8)
    if len(raw) < 8:
        return None
    length, kind = struct.unpack(">I4s", raw)
    if not kind.isalpha() or length > _PNG_MAX_CHUNK:
        raise CorruptImage(f"corrupt PNG: chunk at byte {position} has the invalid type "
                           f"{kind!r} or length {length}")
    return length, kind


def _probe_png(src):
    raw = src.read(8, 8 + 13)
    if len(raw) < 21:
        raise _truncated_header("PNG", "IHDR chunk")
    length, kind = struct.unpack(">I4s", raw[:8])
    if kind != b"IHDR" or length != 13:
        raise CorruptImage("corrupt PNG: the first chunk is not a valid IHDR header")
    width, height, depth, colour = struct.unpack(">IIBB", raw[8:18])
    if depth not in _PNG_DEPTHS.get(colour, ()):
        raise CorruptImage(f"corrupt PNG header (bit depth {depth}, colour type {colour})")
    if not (0 < width <= _PNG_MAX_CHUNK and 0 < height <= _PNG_MAX_CHUNK):
        raise CorruptImage(f"corrupt PNG header: the image is {width} × {height} px")
    details = {"bit_depth": depth, "colour_type": colour, "palette": None,
               "transparency": False, "data_offset": None}
    position = 8 + 12 + 13
    while (chunk := _png_chunk(src, position)) is not None:
        length, kind = chunk
        if kind in (b"IDAT", b"IEND"):
            details["data_offset"] = position
            break
        if kind == b"PLTE":
            details["palette"] = src.read(position + 8, length)
        elif kind == b"tRNS":
            details["transparency"] = True
        position += 12 + length
    # OpenCV: grey 1 channel; RGB and palette 3, or 4 with tRNS; grey + alpha and RGBA 4
    channels = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}[colour]
    if colour in (2, 3) and details["transparency"]:
        channels = 4
    return ImageHeader("png", width, height, channels, 2 if depth == 16 else 1, details)


def _png_complete(src, header):
    """Raise CorruptImage unless the chunks from the first IDAT run, whole, to IEND."""
    position = header.details["data_offset"]
    if position is None:
        raise CorruptImage("truncated PNG (no IEND chunk)", truncated=True,
                           detail=f"the PNG ends at byte {src.size} before its image data")
    seen_data = False
    while True:
        chunk = _png_chunk(src, position)
        if chunk is None:
            raise CorruptImage("truncated PNG (no IEND chunk)", truncated=True,
                               detail=f"the PNG ends at byte {src.size} without its IEND "
                                      "chunk")
        length, kind = chunk
        if position + 12 + length > src.size:
            raise CorruptImage("truncated PNG (no IEND chunk)", truncated=True,
                               detail=f"the PNG's {kind.decode('ascii')} chunk runs past "
                                      f"the end of the file (byte {src.size})")
        seen_data = seen_data or kind == b"IDAT"
        if kind == b"IEND":
            if not seen_data:
                raise CorruptImage("corrupt PNG: no image data (IDAT) before IEND")
            return
        position += 12 + length


def check_complete(data_or_file, header):
    """Raise `CorruptImage` (`truncated` set) if a JPEG has no end-of-image marker after
    its last scan or a PNG's chunk chain does not reach IEND; other formats pass.

    `data_or_file`: the bytes `header` was probed from, or the open file."""
    src = _source(data_or_file)
    if header.format == "jpeg":
        if header.details["scan_offset"] is None:
            raise CorruptImage(
                "truncated JPEG (no end-of-image marker after the last scan)", truncated=True,
                detail="the file ends before the image data")
        if not _jpeg_complete(src):
            raise CorruptImage(
                "truncated JPEG (no end-of-image marker after the last scan)", truncated=True,
                detail=f"no JPEG end-of-image marker after the image data (the file ends at "
                       f"byte {src.size})")
    elif header.format == "png":
        _png_complete(src, header)


# ---------------------------------------------------------------------------- BMP
def _probe_bmp(src):
    raw = src.read(0, 14 + 40)
    if len(raw) < 18:
        raise _truncated_header("BMP", "file header")
    (header_size,) = struct.unpack_from("<I", raw, 14)
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        if len(raw) < 26:
            raise _truncated_header("BMP", "core header")
        width, height, planes, bits = struct.unpack_from("<HHHH", raw, 18)
        compression, colours, entry = 0, 0, 3
    elif 16 <= header_size <= 124:
        if len(raw) < 14 + min(header_size, 40):
            raise _truncated_header("BMP", "info header")
        width, height, planes, bits = struct.unpack_from("<iiHH", raw, 18)
        compression = struct.unpack_from("<I", raw, 30)[0] if header_size >= 20 else 0
        colours = struct.unpack_from("<I", raw, 46)[0] if header_size >= 40 else 0
        entry = 4
    else:
        raise CorruptImage(f"corrupt BMP header (info header of {header_size} bytes)")
    height = abs(height)  # negative: rows stored top-down
    if width <= 0 or height == 0 or bits not in (1, 4, 8, 16, 24, 32):
        raise CorruptImage(f"corrupt BMP header: {width} × {height} px, {bits} bits per pixel")
    details = {"header_size": header_size, "bits": bits, "compression": compression,
               "palette": b"", "palette_entry": entry}
    if bits <= 8:
        if colours > 256:
            raise CorruptImage(f"corrupt BMP header ({colours} palette colours)")
        details["palette"] = src.read(14 + header_size, entry * (colours or 1 << bits))
        # OpenCV decodes a palette image to grey when every entry of the (zero-padded)
        # 2**bits-entry palette has B = G = R, to BGR otherwise
        palette = details["palette"]
        entries = (palette[i:i + 3] for i in range(0, len(palette) - 2, entry))
        channels = 1 if all(e[0] == e[1] == e[2] for e in entries) else 3
    elif header_size == 12:  # OpenCV decodes an OS/2 16/24/32-bit bitmap to grey
        channels = 1
    elif bits == 32 and compression in (3, 6):  # BI_BITFIELDS, BI_ALPHABITFIELDS → BGRA
        channels = 4
    else:
        channels = 3
    return ImageHeader("bmp", width, height, channels, 1, details)


# --------------------------------------------------------------------------- TIFF
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4,
                    12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_TIFF_INTEGER_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q",
                         17: "q", 18: "Q"}
_TIFF_MAX_ENTRIES = 4096
_TIFF_TAGS = {256: "width", 257: "height", 258: "bits", 262: "photometric",
              277: "samples", 339: "sample_format"}


def _probe_tiff(src):
    raw = src.read(0, 16)
    order = "<" if raw[:2] == b"II" else ">"
    big = raw[2:4] in (b"+\0", b"\0+")
    if big:
        if len(raw) < 16:
            raise _truncated_header("TIFF", "BigTIFF header")
        offset_size, _, ifd = struct.unpack(order + "HHQ", raw[4:16])
        if offset_size != 8:
            raise CorruptImage(f"corrupt BigTIFF header (offset size {offset_size})")
        count_format, entry_size, inline = "Q", 20, 8
    else:
        if len(raw) < 8:
            raise _truncated_header("TIFF", "file header")
        (ifd,) = struct.unpack(order + "I", raw[4:8])
        count_format, entry_size, inline = "H", 12, 4
    count_size = struct.calcsize(count_format)
    raw = src.read(ifd, count_size)
    if ifd < 8 or len(raw) < count_size:
        raise _truncated_header("TIFF", f"first directory at byte {ifd}")
    (entries,) = struct.unpack(order + count_format, raw)
    if not 0 < entries <= _TIFF_MAX_ENTRIES:
        raise CorruptImage(f"corrupt TIFF: the first directory has {entries} entries")
    table = src.read(ifd + count_size, entries * entry_size)
    if len(table) < entries * entry_size:
        raise _truncated_header("TIFF", "first directory")
    tags = {}
    for i in range(entries):
        entry = table[i * entry_size:(i + 1) * entry_size]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag not in _TIFF_TAGS or kind not in _TIFF_INTEGER_FORMATS:
            continue
        (count,) = struct.unpack(order + count_format.replace("H", "I"), entry[4:4 + inline])
        if not 0 < count <= 64:
            continue
        size = _TIFF_TYPE_SIZES[kind] * count
        if size <= inline:
            body = entry[4 + inline:4 + inline + size]
        else:
            (where,) = struct.unpack(order + ("Q" if big else "I"),
                                     entry[4 + inline:4 + 2 * inline])
            body = src.read(where, size)
            if len(body) < size:
                raise _truncated_header("TIFF", f"tag {tag} values")
        tags[_TIFF_TAGS[tag]] = struct.unpack(f"{order}{count}{_TIFF_INTEGER_FORMATS[kind]}",
                                              body)
    width, height = tags.get("width", (0,))[0], tags.get("height", (0,))[0]
    if width <= 0 or height <= 0:
        raise CorruptImage(f"corrupt TIFF: the first image is {width} × {height} px (or its "
                           "size tags are missing)")
    bits = max(tags.get("bits", (1,)))
    samples = tags.get("samples", (1,))[0]
    photometric = tags.get("photometric", (None,))[0]
    if not 0 < bits <= 64 or not 0 < samples <= 16:
        raise CorruptImage(f"corrupt TIFF header ({bits} bits, {samples} samples per pixel)")
    # OpenCV: a palette → BGR; 1 or 2 samples (grey, grey + extra) → grey; 3 → BGR;
    # 4 or more (RGBA, CMYK) → 4 channels
    channels = 3 if photometric == 3 else 1 if samples <= 2 else 3 if samples == 3 else 4
    details = {"bits": bits, "samples": samples, "photometric": photometric,
               "sample_format": tags.get("sample_format", (1,))[0], "big": big}
    return ImageHeader("tiff", width, height, channels, max(1, -(-bits // 8)), details)


# --------------------------------------------------------------------------- WebP
def _probe_webp(src):
    raw = src.read(12, 8 + 10)
    chunk, payload = raw[:4], raw[8:]
    if len(payload) < (5 if chunk == b"VP8L" else 10):
        raise _truncated_header("WebP", "first chunk")
    alpha = animated = False
    if chunk == b"VP8 ":
        if payload[0] & 1 or payload[3:6] != b"\x9d\x01\x2a":
            raise CorruptImage("corrupt WebP: the lossy image does not start with a key frame")
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", payload[6:10]))
    elif chunk == b"VP8L":
        (bits,) = struct.unpack("<I", payload[1:5])
        if payload[0] != 0x2F or bits >> 29:
            raise CorruptImage("corrupt WebP: bad lossless header")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        alpha = bool(bits >> 28 & 1)
    elif chunk == b"VP8X":
        flags = payload[0]
        width = 1 + int.from_bytes(payload[4:7], "little")
        height = 1 + int.from_bytes(payload[7:10], "little")
        alpha, animated = bool(flags & 0x10), bool(flags & 0x02)
    else:
        raise CorruptImage(f"corrupt WebP: unknown first chunk {chunk!r}")
    if width == 0 or height == 0:
        raise CorruptImage(f"corrupt WebP header: the image is {width} × {height} px")
    details = {"chunk": chunk.decode("ascii"), "alpha": alpha, "animated": animated}
    return ImageHeader("webp", width, height, 4 if alpha else 3, 1, details)
