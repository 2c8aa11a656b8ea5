"""Building blocks of data_prep, checked against hand-worked values."""

import io
import math
import zipfile

import numpy as np
import pytest

import tests.support.data_prep_fixtures as F
from asnet_keras.commands.prepare import main
from data_prep.fixations import (FixationTable, density_fc8, density_sigma, point_map,
                                 sigma_fc8, to_points)
from asnet_keras.io import probe
from asnet_keras.io.atomic_files import write_if_changed
from data_prep.io import binarise
from data_prep.runner import find_raw


def test_to_points_one_based_rounding_and_frame():
    # 1-based: x = 1.4 -> col 0; x = 1.5 -> col 1 (MATLAB round, halves up); x = 41 -> outside W = 40
    p = to_points([1.4, 1.5, 41.0, 40.0], [1.0, 2.0, 3.0, 30.49], [3, 4, 5, 6], base=1, hw=(30, 40))
    assert p.col.tolist() == [0, 1, 39] and p.row.tolist() == [0, 1, 29]
    assert p.x.tolist() == pytest.approx([0.4, 0.5, 39.0])
    assert p.y.tolist() == pytest.approx([0.0, 1.0, 29.49])
    assert p.subject.tolist() == [3, 4, 6] and p.dropped == 1 and p.clipped == 0


def test_to_points_zero_based_clip_margin_and_nan():
    p = to_points([40.0, -1.0, 41.5, np.nan], [0, 29, 0, 1], -1, base=0, hw=(30, 40), clip_margin=1.0)
    # x = 40 (one past the right edge) and x = -1 are clipped; 41.5 -> col 42 dropped; NaN dropped
    assert p.col.tolist() == [39, 0] and p.x.tolist() == [39.0, 0.0]
    assert p.subject.tolist() == [-1, -1] and p.clipped == 2 and p.dropped == 2


def test_point_map_repeated_hits_stay_255():
    p = to_points([5, 5, 6], [3, 3, 3], 0, base=1, hw=(4, 8))
    m = point_map(p, (4, 8))
    assert m.dtype == np.uint8 and m.sum() == 2 * 255 and m[2, 4] == 255 and m[2, 5] == 255


def test_fc8_blur_matches_its_spatial_gaussian():
    # n = 64 (next power of two >= 50): sigma = 64 * sqrt(ln2 / (2 pi^2)) / 8 = 1.4991 px
    assert sigma_fc8(64) == pytest.approx(1.49911, abs=1e-4)
    b = np.zeros((40, 50), np.uint8)
    b[20, 25] = 255
    d = density_fc8(b)
    s = sigma_fc8(64)
    assert d[20, 25] == 255
    for dist in (1, 2, 3):
        expect = 255 * math.exp(-dist**2 / (2 * s * s))  # 203.3, 104.6, 34.3
        assert abs(int(d[20, 25 + dist]) - expect) <= 1 and abs(int(d[20 - dist, 25]) - expect) <= 1
    assert density_fc8(np.zeros((5, 7), np.uint8)).max() == 0


def test_sigma19_blur_is_min_max_normalised():
    b = np.zeros((60, 80), np.uint8)
    b[30, 40] = 1
    d = density_sigma(b, 19)
    assert d.max() == 255 and d.min() == 0 and d[30, 40] == 255


def test_binarise_is_value_at_least_128():
    m, nonbin = binarise(np.array([[0, 127, 128, 255]], np.uint8))
    assert m.tolist() == [[0, 0, 255, 255]] and nonbin
    assert binarise(np.array([[0, 255]], np.uint8))[1] is False


def test_jpeg_header_reports_baseline_and_components():
    info = probe(F.jpeg_bytes(F.rgb_image(0))).details
    assert (info["sof"], info["components"], info["precision"]) == (0, 3, 8)
    assert probe(F.jpeg_bytes(F.rgb_image(0)[:, :, 0])).details["components"] == 1


def test_fixation_table_keys_dtypes_and_order():
    t = FixationTable()
    t.add("b", to_points([2.0], [3.0], 1, base=1, hw=(4, 5)), (4, 5))
    t.add("a", to_points([1.0, 2.0], [1.0, 1.0], [0, 2], base=1, hw=(6, 7)), (6, 7))
    z = np.load(io.BytesIO(t.to_bytes(["a", "b"])))
    assert sorted(z.files) == ["height", "ids", "image_index", "subject", "width", "x", "y"]
    assert z["ids"].tolist() == ["a", "b"] and z["ids"].dtype.kind == "U"
    assert z["image_index"].tolist() == [0, 0, 1] and z["image_index"].dtype == np.int64
    assert z["x"].tolist() == [0.0, 1.0, 1.0] and z["y"].tolist() == [0.0, 0.0, 2.0]
    assert z["subject"].tolist() == [0, 2, 1] and z["subject"].dtype == np.int64
    assert z["height"].tolist() == [6, 4] and z["width"].tolist() == [7, 5]
    assert t.to_bytes(["a", "b"]) == t.to_bytes(["a", "b"])  # no timestamps inside


def test_atomic_write_skips_identical_bytes(tmp_path):
    p = tmp_path / "sub" / "f.bin"
    assert write_if_changed(p, b"abc") is True
    assert write_if_changed(p, b"abc") is False
    assert write_if_changed(p, b"abcd") is True and p.read_bytes() == b"abcd"
    assert [q.name for q in p.parent.iterdir()] == ["f.bin"]


def test_find_raw_matches_folder_and_archive_aliases(tmp_path):
    (tmp_path / "DUT-OMRON").mkdir()
    (tmp_path / "salObj.zip").write_bytes(b"")
    (tmp_path / "HKU-IS").mkdir()
    (tmp_path / "notes").mkdir()
    assert find_raw(tmp_path) == {"dut-omron": tmp_path / "DUT-OMRON",
                                  "pascal-s": tmp_path / "salObj.zip",
                                  "hku-is": tmp_path / "HKU-IS"}


def test_all_prepares_what_is_present_and_lists_the_missing(tmp_path, capsys):
    F.make_ecssd(tmp_path / "raw" / "ECSSD")
    F.make_hku_is(tmp_path / "raw")
    assert main(["all", "--src", str(tmp_path / "raw"), "--dst", str(tmp_path / "data"), "-q"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "data/ecssd/test/list.txt").read_text() == "0001\n0002\n"
    assert (tmp_path / "data/hku-is/test/list.txt").read_text() == "0004\n0005\n0010\n"
    missing = out[out.index("not found under"):]
    for name in ("salicon", "thus10k", "dut-omron", "pascal-s", "mit1003", "duts"):
        assert f"  {name} " in missing
    assert "saliencydetection.net/duts/download/" in missing and "ecssd " not in missing
    assert main(["all", "--src", str(tmp_path / "empty"), "--dst", str(tmp_path / "data"), "-q"]) == 2


def test_help_names_every_dataset(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for name in ("salicon", "thus10k", "dut-omron", "pascal-s", "mit1003", "ecssd", "hku-is", "duts",
                 "all", "synthetic", "--allow-rejects"):
        assert name in text


def test_data_prep_imports_no_keras_tensorflow_and_only_the_light_asnet_layer():
    # data_prep may import only the package's light bottom layer: names, io, extras
    import subprocess
    import sys
    code = ("import sys, data_prep.runner, data_prep.synthetic, "
            "data_prep.io, asnet_keras.io; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow') "
            "or m.startswith('asnet_keras') and m not in "
            "('asnet_keras', 'asnet_keras.names', 'asnet_keras.io', 'asnet_keras.extras') "
            "and not m.startswith('asnet_keras.io.')]; "
            "print(bad); sys.exit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_asnet_prepare_loads_neither_keras_nor_tensorflow(tmp_path):
    import subprocess
    import sys
    code = ("import sys; from asnet_keras.commands import main; "
            f"status = main(['prepare', 'synthetic', '--dst', {str(tmp_path)!r}, '--n', '2', "
            "'--size', '32', '-q']); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')]; "
            "print(status, bad); sys.exit(status or bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "synthetic-both" / "test" / "list.txt").read_text().count("\n") == 2


def test_two_archives_with_the_same_name_do_not_overwrite_each_other(tmp_path):
    from data_prep.archives import Source
    for sub, stem in (("a", "0001"), ("b", "0002")):
        d = tmp_path / "raw" / sub
        d.mkdir(parents=True)
        with zipfile.ZipFile(d / "images.zip", "w") as zf:
            zf.writestr(f"images_{sub}/{stem}.jpg", b"x")
    src = Source(tmp_path / "raw", tmp_path / "work")
    assert src.find_dir("images_a", having="*.jpg").name == "images_a"
    assert src.find_dir("images_b", having="*.jpg").name == "images_b"
    assert (src.find_dir("images_a") / "0001.jpg").is_file()  # still there
