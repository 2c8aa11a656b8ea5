"""The service's upload decoding under hostile files (docs/serving.md §6): each file is
answered by `decode_upload` with the service's default limit (40 megapixels) in a fresh
process, which measures the time and how far its resident memory rises above where it
was (peak RSS, `VmHWM` reset through `/proc/self/clear_refs`).

A refusal from the header costs milliseconds and no memory; only an accepted image, or a
header that lies to the prober, is decoded, and then within the limit."""

import json
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

import tests.support.image_files as F
from asnet_keras.io import decode

MIB = 1 << 20

# Runs in a fresh process: build the file, reset the peak, answer it, report.
MEASURE = textwrap.dedent("""
    import json, sys, time
    from asnet_keras.serving.engine import UploadError, decode_upload  # first, as serve does
    import numpy as np
    import tests.support.image_files as F
    from asnet_keras.io import ImageHeader, decoding

    case = sys.argv[1]
    if case == "jpeg 10000x10000, stray bytes before its frame":
        import cv2
        ok, buf = cv2.imencode(".jpg", np.full((10_000, 10_000), 128, np.uint8))
        data = F.with_stray_bytes_before_frame(buf.tobytes())
        del buf
    elif case == "radiance hdr 8000x8000":
        data = F.radiance_hdr(8000, 8000)
    elif case == "png 6000x6000 16-bit rgb":
        data = F.flat_png(6000, 6000, 16, 2)
    elif case == "png 6000x6000 16-bit grey":
        data = F.flat_png(6000, 6000, 16, 0)
    elif case.startswith("lying header"):
        # the prober is made to say 100 x 100 for an 8-bit grey PNG of another size
        width = 20_000 if "over" in case else 12_000
        data = F.flat_png(width, 10_000 if "over" in case else 12_000, 8, 0)
        decoding.probe = lambda data: ImageHeader("png", 100, 100, 1, 1, {
            "data_offset": 33, "colour_type": 0})
    else:
        raise SystemExit(f"unknown case {case}")

    def memory():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024

    open("/proc/self/clear_refs", "w").write("5")  # the peak starts from here
    before, _ = memory()
    start = time.perf_counter()
    try:
        image = decode_upload(data)
        status, detail = 200, f"decoded to {image.shape}"
    except UploadError as err:
        status, detail = err.status, err.message
    seconds = time.perf_counter() - start
    print(json.dumps({"status": status, "detail": detail, "seconds": seconds,
                      "rise": memory()[1] - before, "file_bytes": len(data)}))
""")


def measure(case, repo_root):
    result = subprocess.run([sys.executable, "-c", MEASURE, case], cwd=repo_root,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=repo_root))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\n{case}: {found['status']} in {found['seconds'] * 1000:.1f} ms, peak RSS "
          f"+{found['rise'] / MIB:.1f} MiB ({found['file_bytes']:,}-byte file): "
          f"{found['detail']}")
    return found


def _can_reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _can_reset_peak(),
                                reason="needs Linux's /proc/self/clear_refs to reset peak RSS")


@pytest.mark.parametrize("case, status, message", [
    ("jpeg 10000x10000, stray bytes before its frame", 413, "10,000 × 10,000 = 100,000,000"),
    ("radiance hdr 8000x8000", 415, "Radiance HDR"),
    ("png 6000x6000 16-bit rgb", 413, "decodes to 216,000,000 bytes"),
])
def test_refused_from_the_header_in_milliseconds_and_no_memory(case, status, message,
                                                               repo_root):
    found = measure(case, repo_root)
    assert found["status"] == status and message in found["detail"], found
    assert found["rise"] < 16 * MIB and found["seconds"] < 0.5, found


def test_a_36_megapixel_16_bit_grey_png_is_within_the_limit_and_decoded(repo_root):
    # 72 MB decoded (2 bytes per pixel ≤ 4): accepted. Memory: the 16-bit array (72 MB),
    # its 8-bit copy (36 MB), grey → BGR (108 MB) and the RGB answer (108 MB), less what
    # is freed on the way; bounded by 2 × the limit's 160 MB.
    found = measure("png 6000x6000 16-bit grey", repo_root)
    assert found["status"] == 200 and "(6000, 6000, 3)" in found["detail"], found
    assert found["rise"] < 2 * 4 * 40_000_000, found


@pytest.mark.parametrize("case, status, message, most", [
    # OpenCV's own limit (160,000,000 px) refuses 200,000,000 px before allocating
    ("lying header, over opencv's limit", 413, "larger than OpenCV's limit", 16 * MIB),
    # under it, OpenCV decodes the 144 MB (about twice that at its peak) and the size
    # check after decoding refuses it: the cost is bounded by OpenCV's limit
    ("lying header, under opencv's limit", 422, "decodes to 12000 × 12000", 320_000_000),
])
def test_a_header_that_lies_is_caught_by_the_decoder_not_the_memory(case, status, message,
                                                                    most, repo_root):
    found = measure(case, repo_root)
    assert found["status"] == status and message in found["detail"], found
    assert found["rise"] < most, found


def test_stray_bytes_before_the_frame_are_read_as_opencv_reads_them():
    # The same picture with and without the two bytes: the prober sizes both, and the
    # decoder returns the same pixels (libjpeg skips such bytes with a warning).
    rng = np.random.default_rng(0)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    plain, stray = decode(buf.tobytes()), decode(F.with_stray_bytes_before_frame(buf.tobytes()))
    assert plain[1] == stray[1]
    np.testing.assert_array_equal(plain[0], stray[0])


def test_the_hdr_file_is_a_real_one():
    # What the 8000 × 8000 case sends, at 80 × 60: OpenCV decodes it to float32 RGB.
    array = cv2.imdecode(np.frombuffer(F.radiance_hdr(80, 60), np.uint8), cv2.IMREAD_UNCHANGED)
    assert array.shape == (60, 80, 3) and array.dtype == np.float32
    assert len(F.radiance_hdr(8000, 8000)) > 4_000_000
