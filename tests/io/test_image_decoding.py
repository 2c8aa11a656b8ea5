"""The one decoder and its limits (`asnet_keras.io.decoding`, docs/data_integrity.md §7):
the size rule at its boundaries (worked out by hand below), nothing decoded before the
header passes it, OpenCV's own limit in force in the commands, and the one 16 → 8-bit
scaling that the data preparation, the released reader and `--pred-dir` share."""

import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

import tests.support.image_files as F
from asnet_keras.io import (
    CorruptImage,
    ImageHeader,
    ImageReadError,
    ImageTooLarge,
    UnsupportedImage,
    as_bgr8,
    check_max_pixels,
    check_size,
    decode,
    decoding,
    read_image,
    to_8bit,
)


# ------------------------------------------------------------------- the size rule
@pytest.mark.parametrize("width, height, channels, depth, refused", [
    # max_pixels 1,000 → at most 1,000 pixels and 4 × 1,000 = 4,000 decoded bytes
    (40, 25, 4, 1, None),  # 8-bit RGBA, 1,000 px, 4,000 B: the largest 8-bit image
    (7, 143, 3, 1, "1,001 pixels"),  # 1,001 px: over the pixel count
    (666, 1, 3, 2, None),  # 16-bit RGB, 666 px × 6 B = 3,996 B
    (667, 1, 3, 2, "decodes to 4,002 bytes"),  # 667 px × 6 B = 4,002 B > 4,000
    (40, 25, 1, 2, None),  # 16-bit grey, 1,000 px × 2 B = 2,000 B
    (500, 1, 4, 2, None),  # 16-bit RGBA, 500 px × 8 B = 4,000 B
    (501, 1, 4, 2, "decodes to 4,008 bytes"),
    (334, 1, 3, 4, "decodes to 4,008 bytes"),  # float32 RGB TIFF, 12 B per pixel
])
def test_size_rule_at_its_boundaries(width, height, channels, depth, refused):
    header = ImageHeader("png", width, height, channels, depth)
    if refused is None:
        check_size(header, 1000)
    else:
        with pytest.raises(ImageTooLarge, match=refused) as err:
            check_size(header, 1000, "serve --max-pixels")
        assert "serve --max-pixels" in str(err.value)


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "40000000", None,
                                   decoding.OPENCV_MAX_PIXELS + 1])
def test_the_limit_itself_is_checked(value):
    with pytest.raises(ValueError, match="--max-pixels"):
        check_max_pixels(value, "--max-pixels")


def test_the_limit_may_go_up_to_opencvs_own():
    assert check_max_pixels(decoding.OPENCV_MAX_PIXELS) == decoding.OPENCV_MAX_PIXELS
    assert check_max_pixels(np.int64(5)) == 5


# ----------------------------------------------- nothing decoded before the check
@pytest.fixture()
def no_decoder(monkeypatch):
    def fail(*args):
        raise AssertionError("the decoder ran")

    monkeypatch.setattr(decoding.cv2, "imdecode", fail)


@pytest.mark.parametrize("data, error, message", [
    (F.png_header(100_000, 100_000), ImageTooLarge, "10,000,000,000 pixels"),
    (F.jpeg_header(10_000, 10_000, before_frame=b"\x00\x11"), ImageTooLarge,
     "10,000 × 10,000"),
    (F.flat_png(6000, 6000, 16, 2), ImageTooLarge, "decodes to 216,000,000 bytes"),
    (F.ppm(300, 200), UnsupportedImage, "PNM"),
    (F.radiance_hdr(80, 60), UnsupportedImage, "Radiance HDR"),
    (F.real_jpeg(30, 40)[:-2], CorruptImage, "truncated JPEG"),
    (F.flat_png(30, 40)[:-12], CorruptImage, "truncated PNG"),
])
def test_refused_from_the_header_without_running_the_decoder(no_decoder, data, error,
                                                              message):
    with pytest.raises(error, match=message):
        decode(data)


def test_a_header_that_lies_is_caught_after_decoding(monkeypatch):
    # The prober is made to lie (say 8 × 8 for a 40 × 30 image): the decoded array does
    # not have the header's size, so it is refused.
    data = F.real_jpeg(30, 40)
    monkeypatch.setattr(decoding, "probe", lambda data: ImageHeader("jpeg", 8, 8, 1, 1, {
        "scan_offset": 0}))
    with pytest.raises(CorruptImage, match="decodes to 40 × 30 px although its header "
                                           "says 8 × 8"):
        decode(data)


@pytest.mark.parametrize("entry_point", ["asnet_keras.commands.serve",
                                         "asnet_keras.commands.predict",
                                         "asnet_keras.commands.prepare"])
def test_opencvs_own_limit_is_in_force_in_the_commands(entry_point, repo_root):
    # In a fresh process importing the command as `python -m` does, OpenCV itself
    # refuses a PNG whose header says more than DECODER_MAX_PIXELS (16,001 × 10,000),
    # before it allocates anything (the file holds one row of pixel data).
    code = textwrap.dedent(f"""
        import os, sys, zlib
        import {entry_point}
        from asnet_keras.io import decoding
        import numpy as np
        import tests.support.image_files as F
        assert "OPENCV_IO_MAX_IMAGE_PIXELS" not in os.environ  # left as it was
        limit = decoding.OPENCV_MAX_PIXELS
        row = zlib.compress(bytes(limit // 10_000 + 2))
        over = (F.png_header(limit // 10_000 + 1, 10_000, 8, 0) + F.chunk(b"IDAT", row)
                + F.chunk(b"IEND", b""))
        try:
            decoding.cv2.imdecode(np.frombuffer(over, np.uint8), decoding.cv2.IMREAD_UNCHANGED)
            refused = False
        except decoding.cv2.error as err:
            refused = "CV_IO_MAX_IMAGE_PIXELS" in str(err)
        print(limit, decoding.DECODER_MAX_PIXELS, refused)
    """)
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["160000000", "160000000", "True"]


# --------------------------------------------------------------- 16 → 8 bits
def test_to_8bit_is_round_half_up_of_v_times_255_over_65535():
    # v·255/65535 = v/257 is never exactly halfway, so rint is an independent reference
    values = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(to_8bit(values), np.rint(values / 257).astype(np.uint8))
    assert to_8bit(np.array([0, 128, 129, 257, 32767, 32768, 65535], np.uint16)).tolist() == [
        0, 0, 1, 1, 127, 128, 255]
    # by blocks of rows: a tall 3-D image equals the formula applied at once
    tall = np.random.default_rng(0).integers(0, 65536, (700, 3, 3), dtype=np.uint16)
    np.testing.assert_array_equal(
        to_8bit(tall), ((tall.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8))
    eight = np.arange(5, dtype=np.uint8)
    assert to_8bit(eight) is eight and to_8bit(np.float32(1.5)).dtype == np.float32


def test_one_scaling_for_data_prep_the_released_reader_and_pred_dir(tmp_path):
    from asnet_keras.evaluation.pred_dir import read_map
    from asnet_keras.inference.released_processing import display_rgb
    from asnet_keras.io.released_reading import read_image_released
    from data_prep.io import decode_image

    grey = np.array([[0, 128, 129, 257], [32767, 32768, 65280, 65535]], np.uint16)
    expected = [[0, 0, 1, 1], [127, 128, 254, 255]]  # (v·255 + 32767) // 65535
    ok, png = cv2.imencode(".png", grey)
    (tmp_path / "g16.png").write_bytes(png.tobytes())
    assert read_map(tmp_path / "g16.png").tolist() == expected
    assert display_rgb(read_image_released(tmp_path / "g16.png"))[..., 0].tolist() == expected
    bgr, notes, _ = decode_image(png.tobytes())
    assert bgr[..., 1].tolist() == expected and "16bit_to_8bit" in notes
    assert read_image(tmp_path / "g16.png")[..., 2].tolist() == expected


# -------------------------------------------------------------- decoded arrays
def test_as_bgr8_conversions_and_their_names():
    grey16 = np.full((2, 3), 65535, np.uint16)
    bgr, notes = as_bgr8(grey16)
    assert bgr.shape == (2, 3, 3) and bgr.dtype == np.uint8 and (bgr == 255).all()
    assert notes == {"16bit_to_8bit", "gray_to_rgb"}
    bgra = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    bgr, notes = as_bgr8(bgra)
    np.testing.assert_array_equal(bgr, bgra[..., :3])
    assert notes == {"alpha_dropped"}
    with pytest.raises(UnsupportedImage, match="float32"):
        as_bgr8(np.zeros((2, 2), np.float32))


def test_read_image_names_the_file_and_the_limit(tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(F.flat_png(60, 50, 16, 2))  # 3,000 px, 16-bit RGB: 18,000 B
    with pytest.raises(ImageReadError, match=r"wide\.png.*60 × 50 = 3,000 pixels.*2,000 "
                                             r"\(--max-pixels\)") as err:
        read_image(path, 2000, name="--max-pixels")
    assert isinstance(err.value.reason, ImageTooLarge)
    with pytest.raises(ImageReadError, match="decodes to 18,000 bytes"):
        read_image(path, 4000)
    image = read_image(path, 4500)
    assert image.shape == (50, 60, 3) and image.dtype == np.uint8 and not image.any()
    with pytest.raises(ImageReadError, match="nothing.png.*No such file"):
        read_image(tmp_path / "nothing.png")
