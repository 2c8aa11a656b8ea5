"""The one image-header prober (`asnet_keras.io.headers`, docs/data_integrity.md §7) on
headers built byte by byte, with the sizes, channels and depths written into them; on
real files of every kind OpenCV and Pillow write, against what OpenCV decodes; and the
refusals (truncated headers, other formats)."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

import tests.support.image_files as F
from asnet_keras.io import CorruptImage, UnsupportedImage, check_complete, probe, probe_file


def facts(header):
    return (header.format, header.width, header.height, header.channels,
            header.bytes_per_sample)


# --------------------------------------------------------------------------- JPEG
def test_jpeg_with_exif_thumbnail_fill_bytes_and_stray_bytes():
    # The EXIF segment holds a whole 160 × 120 thumbnail JPEG: skipped by its length.
    data = F.jpeg_header(4000, 3000, before_frame=b"\x00\x11")
    header = probe(data)
    assert facts(header) == ("jpeg", 4000, 3000, 3, 1)
    assert header.details["sof"] == 0 and header.details["precision"] == 8
    assert header.details["scan_offset"] == len(data)  # the scan header ends the data
    assert header.decoded_bytes == 4000 * 3000 * 3


@pytest.mark.parametrize("kind, sof", [(0xC1, 1), (0xC2, 2), (0xC3, 3), (0xC9, 9), (0xCA, 10)])
def test_jpeg_every_frame_kind_gives_the_size(kind, sof):
    header = probe(F.jpeg_header(640, 480, kind=kind))
    assert facts(header) == ("jpeg", 640, 480, 3, 1) and header.details["sof"] == sof


def test_jpeg_grey_12_bit_and_cmyk():
    assert facts(probe(F.jpeg_header(33, 17, components=1))) == ("jpeg", 33, 17, 1, 1)
    assert facts(probe(F.jpeg_header(33, 17, precision=12))) == ("jpeg", 33, 17, 3, 2)
    cmyk = probe(F.jpeg_header(33, 17, components=4, adobe_transform=2))
    # OpenCV decodes CMYK/YCCK to 3 channels
    assert facts(cmyk) == ("jpeg", 33, 17, 3, 1)
    assert cmyk.details["components"] == 4 and cmyk.details["adobe_transform"] == 2


def test_jpeg_restart_and_tem_markers_in_the_header_carry_no_length():
    data = F.jpeg_header(50, 40)
    at = data.rindex(b"\xff\xc0")  # the frame header, not the thumbnail's
    data = data[:at] + b"\xff\xd0\xff\x01\xff\xd7" + data[at:]
    assert facts(probe(data)) == ("jpeg", 50, 40, 3, 1)


def test_real_baseline_and_progressive_jpegs():
    baseline = probe(F.real_jpeg(61, 45, grey=False))
    progressive = probe(F.real_jpeg(61, 45, grey=False, progressive=True))
    assert facts(baseline) == facts(progressive) == ("jpeg", 45, 61, 3, 1)
    assert (baseline.details["sof"], progressive.details["sof"]) == (0, 2)
    assert facts(probe(F.real_jpeg(10, 12))) == ("jpeg", 12, 10, 1, 1)


@pytest.mark.parametrize("data, message", [
    (F.jpeg_header(50, 40)[:F.jpeg_header(50, 40).rindex(b"\xff\xc0") + 6], "frame header"),
    (b"\xff\xd8\xff", "frame header"),
    (b"\xff\xd8" + F.segment(0xE0, b"JFIF\0") + b"\xff\xd9", "end-of-image marker before"),
    (b"\xff\xd8" + F.segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"), "image data before any frame"),
    (b"\xff\xd8" + F.sof(0, 40), "0 × 40"),
    (b"\xff\xd8" + F.sof(20, 40) + F.sof(20, 40), "second frame header"),
    (b"\xff\xd8\xff\xe0\x00\x01", "segment length 1"),
])
def test_jpeg_headers_that_do_not_give_a_size_are_refused(data, message):
    with pytest.raises(CorruptImage, match=message):
        probe(data)


def test_jpeg_completeness_is_an_end_marker_after_the_last_scan():
    whole = F.real_jpeg(30, 40, progressive=True)
    header = probe(whole)
    check_complete(whole, header)
    check_complete(whole + b"trailing bytes", header)
    with pytest.raises(CorruptImage, match="truncated JPEG") as cut:
        check_complete(whole[:-2], header)
    assert cut.value.truncated and "no JPEG end-of-image marker" in cut.value.detail


# ---------------------------------------------------------------------------- PNG
@pytest.mark.parametrize("depth, colour, extra, expected", [
    (16, 2, b"", (3, 2)),  # 16-bit RGB
    (16, 0, b"", (1, 2)),  # 16-bit grey
    (16, 6, b"", (4, 2)),  # 16-bit RGBA
    (8, 4, b"", (4, 1)),  # grey + alpha: OpenCV gives BGRA
    (1, 0, b"", (1, 1)),  # 1-bit grey: decoded to 8 bits
    (8, 3, F.chunk(b"PLTE", bytes(6)), (3, 1)),  # palette
    (8, 3, F.chunk(b"PLTE", bytes(6)) + F.chunk(b"tRNS", b"\0"), (4, 1)),
    (8, 2, F.chunk(b"tRNS", bytes(6)), (4, 1)),  # RGB with a transparent colour
    (8, 0, F.chunk(b"tRNS", bytes(2)), (1, 1)),  # grey with one: still grey
])
def test_png_channels_and_depth(depth, colour, extra, expected):
    data = F.png_header(6000, 4000, depth, colour, extra) + F.chunk(b"IDAT", b"")
    header = probe(data)
    assert facts(header) == ("png", 6000, 4000) + expected
    assert header.details["bit_depth"] == depth and header.details["colour_type"] == colour


def test_png_36_megapixel_16_bit_rgb_decodes_to_216_mb():
    header = probe(F.png_header(6000, 6000, 16, 2))
    assert header.decoded_bytes == 6000 * 6000 * 3 * 2 == 216_000_000
    assert header.describe() == "6,000 × 6,000 16-bit RGB PNG"


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0", "truncated PNG"),
    (F.png_header(10, 10, 16, 3), "bit depth 16, colour type 3"),
    (F.png_header(10, 10, 8, 5), "colour type 5"),
    (F.png_header(0, 10), "0 × 10"),
    (F.png_header(10, 10) + b"\0\0\0\x01IH!R", "invalid type"),
])
def test_png_headers_that_do_not_give_a_size_are_refused(data, message):
    with pytest.raises(CorruptImage, match=message):
        probe(data)


def test_png_completeness_walks_the_chunks_to_iend():
    whole = F.flat_png(30, 20)
    header = probe(whole)
    check_complete(whole, header)
    for cut, detail in ((12, "ends at byte"), (20, "IDAT chunk runs past the end")):
        with pytest.raises(CorruptImage, match=r"truncated PNG \(no IEND chunk\)") as err:
            check_complete(whole[:-cut], header)
        assert err.value.truncated and detail in err.value.detail


# ---------------------------------------------------------------------------- BMP
@pytest.mark.parametrize("data, expected", [
    (F.bmp(300, 200), ("bmp", 300, 200, 3, 1)),
    (F.bmp(300, -200), ("bmp", 300, 200, 3, 1)),  # negative height: rows top-down
    (F.bmp(30, 20, 8, [(i, i, i) for i in range(256)]), ("bmp", 30, 20, 1, 1)),
    (F.bmp(30, 20, 8, [(i, 0, 0) for i in range(256)]), ("bmp", 30, 20, 3, 1)),
    (F.bmp(30, 20, 1, [(0, 0, 0), (255, 255, 255)]), ("bmp", 30, 20, 1, 1)),
    (F.bmp(30, 20, 32, compression=3, info_size=56), ("bmp", 30, 20, 4, 1)),
    (F.bmp(30, 20, 32), ("bmp", 30, 20, 3, 1)),
    (F.bmp(30, 20, 24, info_size=12), ("bmp", 30, 20, 1, 1)),  # OS/2: OpenCV gives grey
])
def test_bmp_headers(data, expected):
    assert facts(probe(data)) == expected


def test_bmp_truncated_or_odd_headers_are_refused():
    with pytest.raises(CorruptImage, match="truncated BMP"):
        probe(F.bmp(30, 20)[:16])
    with pytest.raises(CorruptImage, match="7 bits per pixel"):
        probe(F.bmp(30, 20, 7, pixels=False))


# --------------------------------------------------------------------------- TIFF
@pytest.mark.parametrize("kwargs, expected", [
    (dict(bits=(16,)), ("tiff", 300, 200, 1, 2)),  # 16-bit grey, little-endian
    (dict(bits=(16,), order=">"), ("tiff", 300, 200, 1, 2)),  # big-endian
    (dict(bits=(8, 8, 8), photometric=2, order=">"), ("tiff", 300, 200, 3, 1)),
    (dict(bits=(16, 16, 16, 16), photometric=2), ("tiff", 300, 200, 4, 2)),
    (dict(bits=(8,), photometric=3), ("tiff", 300, 200, 3, 1)),  # palette → BGR
    (dict(bits=(32,), sample_format=3), ("tiff", 300, 200, 1, 4)),  # float grey
    (dict(bits=(8, 8, 8), photometric=2, big=True), ("tiff", 300, 200, 3, 1)),  # BigTIFF
    (dict(bits=(16, 16, 16), photometric=2, big=True, order=">"), ("tiff", 300, 200, 3, 2)),
])
def test_tiff_headers_both_byte_orders_and_bigtiff(kwargs, expected):
    data = F.tiff(300, 200, pixels=False, **kwargs)
    assert facts(probe(data)) == expected
    assert probe(data).details["big"] == kwargs.get("big", False)


def test_tiff_without_a_directory_is_refused():
    with pytest.raises(CorruptImage, match="truncated TIFF"):
        probe(F.tiff(30, 20)[:12])


# --------------------------------------------------------------------------- WebP
@pytest.mark.parametrize("kind, alpha, animated, expected", [
    ("VP8 ", False, False, ("webp", 1200, 800, 3, 1)),  # lossy
    ("VP8L", False, False, ("webp", 1200, 800, 3, 1)),  # lossless
    ("VP8L", True, False, ("webp", 1200, 800, 4, 1)),
    ("VP8X", True, False, ("webp", 1200, 800, 4, 1)),  # extended
    ("VP8X", False, True, ("webp", 1200, 800, 3, 1)),  # animated: the canvas size
])
def test_webp_headers(kind, alpha, animated, expected):
    header = probe(F.webp(kind, 1200, 800, alpha, animated))
    assert facts(header) == expected
    assert header.details["chunk"] == kind and header.details["animated"] == animated


def test_webp_truncated_is_refused():
    with pytest.raises(CorruptImage, match="truncated WebP"):
        probe(F.webp("VP8X", 1200, 800)[:22])


# ------------------------------------------------------------------- other formats
@pytest.mark.parametrize("data, name", [
    (F.ppm(8000, 8000)[:64], "PNM"), (F.radiance_hdr(80, 60), "Radiance HDR"),
    (b"GIF89a" + bytes(20), "GIF"), (b"\x59\xa6\x6a\x95" + bytes(28), "Sun raster"),
    (b"PF\n8000 8000\n-1\n", "PFM"), (b"hello, world" * 3, "not an image"),
])
def test_formats_it_cannot_size_are_refused(data, name):
    with pytest.raises(UnsupportedImage, match=name):
        probe(data)


def test_empty_data_is_refused():
    with pytest.raises(CorruptImage, match="empty file"):
        probe(b"")


# ----------------------------------------------- agreement with what OpenCV decodes
def _pil(image, fmt, **kw):
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _cv(array, ext, params=()):
    ok, buf = cv2.imencode(ext, array, list(params))
    assert ok
    return buf.tobytes()


def _real_files():
    rng = np.random.default_rng(0)
    g8 = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    c8 = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    a8 = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    g16 = rng.integers(0, 65536, (7, 9), dtype=np.uint16)
    c16 = rng.integers(0, 65536, (7, 9, 3), dtype=np.uint16)
    a16 = rng.integers(0, 65536, (7, 9, 4), dtype=np.uint16)
    rgb, grey = Image.fromarray(c8), Image.fromarray(g8)
    files = {}
    for name, array in dict(g8=g8, c8=c8, a8=a8, g16=g16, c16=c16, a16=a16).items():
        files[f"png {name}"] = _cv(array, ".png")
        files[f"tiff {name}"] = _cv(array, ".tif")
    for name, array in dict(g8=g8, c8=c8, a8=a8).items():
        files[f"bmp {name}"] = _cv(array, ".bmp")
    files.update({
        "png grey+alpha": _pil(grey.convert("LA"), "PNG"),
        "png palette": _pil(rgb.convert("P"), "PNG"),
        "png palette+tRNS": _pil(rgb.convert("P"), "PNG", transparency=0),
        "png RGB+tRNS": _pil(rgb, "PNG", transparency=(1, 2, 3)),
        "png 1-bit": _pil(grey.convert("1"), "PNG"),
        "jpeg colour": _cv(c8, ".jpg"), "jpeg grey": _cv(g8, ".jpg"),
        "jpeg progressive": _cv(c8, ".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "jpeg CMYK": _pil(rgb.convert("CMYK"), "JPEG"),
        "jpeg EXIF": _pil(rgb, "JPEG", exif=b"Exif\0\0II*\0\x08\0\0\0\0\0"),
        "bmp palette": _pil(rgb.convert("P"), "BMP"),
        "bmp 1-bit": _pil(grey.convert("1"), "BMP"),
        "bmp RGBA (Pillow)": _pil(Image.fromarray(a8, "RGBA"), "BMP"),
        "tiff float": _cv(g8.astype(np.float32), ".tif"),
        "tiff float RGB": _cv(c8.astype(np.float32), ".tif"),
        "tiff palette": _pil(rgb.convert("P"), "TIFF"),
        "tiff 1-bit": _pil(grey.convert("1"), "TIFF"),
        "tiff grey+alpha": _pil(grey.convert("LA"), "TIFF"),
        "tiff CMYK": _pil(rgb.convert("CMYK"), "TIFF"),
        "tiff JPEG-compressed": _pil(rgb, "TIFF", compression="jpeg"),
        "webp lossy": _cv(c8, ".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
        "webp lossless": _cv(c8, ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
        "webp lossless alpha": _cv(a8, ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
        "webp extended alpha": _pil(Image.fromarray(a8, "RGBA"), "WEBP", quality=80),
        "webp extended EXIF": _pil(rgb, "WEBP", exif=b"Exif\0\0II*\0\x08\0\0\0\0\0"),
        "webp animated": _pil(rgb, "WEBP", save_all=True, append_images=[grey.convert("RGB")]),
        "png animated": _pil(rgb, "PNG", save_all=True, append_images=[grey.convert("RGB")]),
    })
    for name in ("bmp g8", "bmp c8", "bmp a8", "tiff c8", "png c8"):  # hand-built above too
        assert name in files
    files["bmp OS/2"] = F.bmp(9, 7, 24, info_size=12)
    files["tiff BigTIFF big-endian"] = F.tiff(9, 7, bits=(16, 16, 16), photometric=2,
                                              big=True, order=">")
    return files


REAL_FILES = _real_files()
assert len(REAL_FILES) == 44


@pytest.mark.parametrize("name", list(REAL_FILES))
def test_the_header_says_what_opencv_decodes(name):
    data = REAL_FILES[name]
    header = probe(data)
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    channels = 1 if array.ndim == 2 else array.shape[2]
    assert (header.height, header.width, header.channels, header.bytes_per_sample) == (
        array.shape[0], array.shape[1], channels, array.dtype.itemsize)
    assert header.decoded_bytes == array.nbytes
    check_complete(data, header)


def test_probe_file_reads_the_same_header_as_probe(tmp_path):
    for name in ("jpeg EXIF", "png palette+tRNS", "tiff BigTIFF big-endian", "webp animated"):
        path = tmp_path / "image"
        path.write_bytes(REAL_FILES[name])
        with open(path, "rb") as f:
            assert probe_file(f) == probe(REAL_FILES[name])


def test_file_completeness_reads_backwards_across_blocks(tmp_path):
    # Trailing bytes after the end marker: the last start of scan or end marker is
    # searched from the end of the file (the last 4 KiB, then 64 KiB blocks), including
    # an end marker whose two bytes lie on both sides of a block boundary.
    whole = F.real_jpeg(30, 40)
    cases = [(whole + bytes(200_000), True),
             (whole[:-2] + b"\xff\xd9" + bytes(4095), True),  # FF | D9 across the boundary
             (whole[:-2] + b"\xff\xd9" + bytes(4095 + 65_536), True),  # the next boundary
             (whole + b"\xff\xda" + bytes(200_000), False)]
    for data, complete in cases:
        path = tmp_path / "tail.jpg"
        path.write_bytes(data)
        with open(path, "rb") as f:
            header = probe_file(f)
            if complete:
                check_complete(f, header)
            else:
                with pytest.raises(CorruptImage, match="truncated JPEG"):
                    check_complete(f, header)
