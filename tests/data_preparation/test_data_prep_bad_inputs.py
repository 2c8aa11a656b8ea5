"""Every kind of bad input (docs/datasets.md §0) has an exact, asserted outcome: repaired in
the documented way and counted, or rejected with its file name and reason."""

import io
import json
import stat
import zipfile

import cv2
import numpy as np
import pytest
import scipy.io

import tests.support.data_prep_fixtures as F
from asnet_keras.commands.prepare import main
from data_prep.archives import ArchiveError, Source, safe_extract, UnsafeArchive
from data_prep.io import encode_jpeg
from data_prep.runner import prepare


def read(path, flags=cv2.IMREAD_UNCHANGED):
    a = cv2.imread(str(path), flags)
    assert a is not None, path
    return a


@pytest.fixture
def ecssd(tmp_path):
    """Unpacked ECSSD layout with one good pair (0001); tests add bad files."""
    raw = tmp_path / "raw"
    F.make_ecssd(raw, as_zip=False)
    return raw


def prep(name, raw, tmp_path):
    rep = prepare(name, raw, tmp_path / "data", quiet=True)
    assert rep.fatal is None, rep.fatal
    return rep


def rejected(rep):
    return {(r["file"], r["reason"]) for r in rep.rejects}


# --------------------------------------------------------------------- rejected
def test_unreadable_image_is_rejected_by_name(ecssd, tmp_path):
    F.write(ecssd / "images" / "0003.jpg", b"this is not an image")
    F.write(ecssd / "ground_truth_mask" / "0003.png", F.png_bytes(F.mask_array()))
    rep = prep("ecssd", ecssd, tmp_path)
    assert rejected(rep) == {("images/0003.jpg", "not an image: the bytes start like no JPEG, "
                              "PNG, BMP, TIFF or WebP file (first bytes 74 68 69 73 20 69 73 "
                              "20)")}
    out = tmp_path / "data/ecssd/test"
    assert (out / "list.txt").read_text() == "0001\n0002\n"
    assert not (out / "masks/0003.png").exists()  # nothing of a rejected sample is written


def test_empty_and_truncated_images_are_rejected(ecssd, tmp_path):
    good = F.jpeg_bytes(F.rgb_image(9))
    F.write(ecssd / "images" / "0003.jpg", good[: len(good) * 2 // 3])
    F.write(ecssd / "images" / "0004.jpg", b"")
    F.write(ecssd / "images" / "0005.jpg", good[:-2])  # only the EOI marker missing
    for s in ("0003", "0004", "0005"):
        F.write(ecssd / "ground_truth_mask" / f"{s}.png", F.png_bytes(F.mask_array()))
    rep = prep("ecssd", ecssd, tmp_path)
    assert rejected(rep) == {
        ("images/0003.jpg", "truncated JPEG (no end-of-image marker after the last scan)"),
        ("images/0004.jpg", "empty file"),
        ("images/0005.jpg", "truncated JPEG (no end-of-image marker after the last scan)")}


def test_annotation_without_image_and_image_without_annotation(ecssd, tmp_path):
    F.write(ecssd / "ground_truth_mask" / "0009.png", F.png_bytes(F.mask_array()))
    F.write(ecssd / "images" / "0008.jpg", F.jpeg_bytes(F.rgb_image(8)))
    rep = prep("ecssd", ecssd, tmp_path)
    assert rejected(rep) == {("ground_truth_mask/0009.png", "annotation without an image"),
                             ("images/0008.jpg", "image without its mask")}
    meta = json.loads((tmp_path / "data/ecssd/meta.json").read_text())
    assert meta["splits"]["test"]["rejected"] == 2 and meta["splits"]["test"]["images"] == 2
    assert {r["file"] for r in meta["rejected"]} == {"ground_truth_mask/0009.png", "images/0008.jpg"}


def test_unreadable_mask_rejects_the_pair_by_mask_name(ecssd, tmp_path):
    F.write(ecssd / "images" / "0003.jpg", F.jpeg_bytes(F.rgb_image(3)))
    png = F.png_bytes(F.mask_array())
    F.write(ecssd / "ground_truth_mask" / "0003.png", png[:-12])  # IEND cut off
    rep = prep("ecssd", ecssd, tmp_path)
    assert rejected(rep) == {("ground_truth_mask/0003.png", "truncated PNG (no IEND chunk)")}
    assert not (tmp_path / "data/ecssd/test/images/0003.jpg").exists()


def test_dut_omron_size_row_mismatch_and_broken_mat_are_rejected(tmp_path):
    raw = tmp_path / "raw"
    F.make_dut_omron(raw)
    scipy.io.savemat(raw / "DUT-OMRON-eye-fixations/mat/im001.mat",
                     {"s": np.array([[50, 30, 0], [4, 2, 1]], float)})  # says W = 50, image is 40
    F.write(raw / "DUT-OMRON-eye-fixations/mat/im002.mat", b"MATLAB 5.0 MAT-file garbage")
    rep = prep("dut-omron", raw, tmp_path)
    reasons = dict(rejected(rep))
    assert reasons["DUT-OMRON-eye-fixations/mat/im001.mat"] == \
        "the size stated in the fixation file is 30x50 but the image is 30x40 (HxW)"
    assert reasons["DUT-OMRON-eye-fixations/mat/im002.mat"].startswith("unreadable .mat file")
    assert (tmp_path / "data/dut-omron/train/list.txt").read_text() == ""


def test_exit_status_is_nonzero_on_rejects_unless_allowed(ecssd, tmp_path, capsys):
    F.write(ecssd / "images" / "0003.jpg", b"garbage")
    F.write(ecssd / "ground_truth_mask" / "0003.png", F.png_bytes(F.mask_array()))
    args = ["ecssd", "--src", str(ecssd), "--dst", str(tmp_path / "data"), "-q"]
    assert main(args) == 1
    out = capsys.readouterr()
    assert "images/0003.jpg: not an image" in out.err
    header = [l for l in out.out.splitlines() if l.startswith("dataset")][0]
    assert header.split() == ["dataset", "split", "images", "masks", "fixation", "maps", "rejected",
                              "fixmap", "source"]
    row = [l for l in out.out.splitlines() if l.startswith("ecssd")][0]
    assert row.split() == ["ecssd", "test", "2", "2", "0", "1", "-"]
    assert main(args + ["--allow-rejects"]) == 0


# --------------------------------------------------------------------- repaired
def test_grey_image_becomes_rgb_and_is_counted(ecssd, tmp_path):
    grey = F.rgb_image(5)[:, :, 1]
    F.write(ecssd / "images" / "0001.jpg", F.jpeg_bytes(grey))
    rep = prep("ecssd", ecssd, tmp_path)
    out = read(tmp_path / "data/ecssd/test/images/0001.jpg")
    assert out.shape == (30, 40, 3)
    assert np.array_equal(out[:, :, 0], out[:, :, 1]) and np.array_equal(out[:, :, 1], out[:, :, 2])
    assert rep.repairs["gray_to_rgb"] == {"images/0001.jpg"}
    assert rep.rejects == []


def test_cmyk_jpeg_becomes_rgb(ecssd, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    Image.new("CMYK", (40, 30), (10, 200, 30, 40)).save(buf, "JPEG", quality=95)
    F.write(ecssd / "images" / "0001.jpg", buf.getvalue())
    rep = prep("ecssd", ecssd, tmp_path)
    out = read(tmp_path / "data/ecssd/test/images/0001.jpg")
    assert out.shape == (30, 40, 3)
    expect_rgb = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").getpixel((20, 15))
    assert np.abs(out[15, 20, ::-1].astype(int) - expect_rgb).max() <= 4
    assert rep.repairs["cmyk_to_rgb"] == {"images/0001.jpg"}


@pytest.fixture
def hku(tmp_path):
    F.make_hku_is(tmp_path / "raw")
    return tmp_path / "raw" / "HKU-IS"


def test_16bit_palette_and_alpha_png_images_become_8bit_rgb(hku, tmp_path):
    g16 = (np.arange(30 * 40).reshape(30, 40) * 50).astype(np.uint16)  # up to 59950
    F.write(hku / "imgs" / "0004.png", F.png_bytes(g16))
    idx = np.zeros((30, 40), np.uint8)
    idx[:, 20:] = 1
    F.write(hku / "imgs" / "0005.png", F.palette_png(idx, [(255, 0, 0), (0, 0, 255)]))
    rgba = np.dstack([F.rgb_image(1), np.full((30, 40), 7, np.uint8)])
    F.write(hku / "imgs" / "0010.png", F.png_bytes(rgba))
    rep = prep("hku-is", hku.parent, tmp_path)
    out = tmp_path / "data/hku-is/test/images"
    g8 = ((g16.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    assert g8[29, 39] == 233  # 59950 * 255 / 65535 = 233.27
    assert (out / "0004.jpg").read_bytes() == encode_jpeg(cv2.cvtColor(g8, cv2.COLOR_GRAY2BGR))
    pal_bgr = np.zeros((30, 40, 3), np.uint8)
    pal_bgr[:, :20] = (0, 0, 255)  # red, as BGR
    pal_bgr[:, 20:] = (255, 0, 0)  # blue
    assert (out / "0005.jpg").read_bytes() == encode_jpeg(pal_bgr)
    assert (out / "0010.jpg").read_bytes() == encode_jpeg(F.rgb_image(1))
    assert rep.repairs["16bit_to_8bit"] == {"HKU-IS/imgs/0004.png"}
    assert rep.repairs["gray_to_rgb"] == {"HKU-IS/imgs/0004.png"}
    assert rep.repairs["palette_expanded"] == {"HKU-IS/imgs/0005.png"}
    assert rep.repairs["alpha_dropped"] == {"HKU-IS/imgs/0010.png"}
    assert rep.rejects == []


def test_mask_not_0_255_is_binarised_at_128_and_counted(ecssd, tmp_path):
    m = np.zeros((30, 40), np.uint8)
    m[:, 8:16] = 1
    m[:, 16:24] = 127
    m[:, 24:32] = 128
    m[:, 32:] = 254
    F.write(ecssd / "ground_truth_mask" / "0001.png", F.png_bytes(m))
    rep = prep("ecssd", ecssd, tmp_path)
    out = read(tmp_path / "data/ecssd/test/masks/0001.png")
    assert out[:, :24].max() == 0 and out[:, 24:].min() == 255
    assert rep.repairs["mask_not_binary"] == {"ground_truth_mask/0001.png"}
    meta = json.loads((tmp_path / "data/ecssd/meta.json").read_text())
    assert meta["repairs"]["mask_not_binary"] == {
        "count": 1, "what": "mask values not all 0/255, binarised at >= 128",
        "files": ["ground_truth_mask/0001.png"]}


def test_mask_of_another_size_is_resized_nearest_and_logged(ecssd, tmp_path):
    small = np.zeros((15, 20), np.uint8)
    small[:, :10] = 255  # left half
    F.write(ecssd / "ground_truth_mask" / "0001.png", F.png_bytes(small))
    rep = prep("ecssd", ecssd, tmp_path)
    out = read(tmp_path / "data/ecssd/test/masks/0001.png")
    assert out.shape == (30, 40)
    assert out[:, :20].min() == 255 and out[:, 20:].max() == 0
    assert rep.repairs["mask_resized"] == {"ground_truth_mask/0001.png"}


def test_colour_palette_mask_uses_indices_and_rgb_mask_uses_luma(ecssd, tmp_path):
    idx = np.zeros((30, 40), np.uint8)
    idx[5:10, 5:10] = 1  # dark red object: luma 38 would be lost by a >= 128 threshold
    F.write(ecssd / "ground_truth_mask" / "0001.png", F.palette_png(idx, [(0, 0, 0), (128, 0, 0)]))
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[0:3, 0:3] = 255
    F.write(ecssd / "ground_truth_mask" / "0002.png", F.png_bytes(rgb))
    rep = prep("ecssd", ecssd, tmp_path)
    m1 = read(tmp_path / "data/ecssd/test/masks/0001.png")
    np.testing.assert_array_equal(m1, np.where(idx == 1, 255, 0))
    m2 = read(tmp_path / "data/ecssd/test/masks/0002.png")
    assert m2.ndim == 2 and m2[0:3, 0:3].min() == 255 and m2.sum() == 9 * 255
    assert rep.repairs["palette_indices"] == {"ground_truth_mask/0001.png"}
    assert "color_to_gray" not in rep.repairs  # a grey RGB file is not a colour repair


def test_fixations_outside_the_image_are_dropped_and_counted(tmp_path):
    F.make_salicon_2017(tmp_path / "raw")
    rep = prep("salicon", tmp_path / "raw", tmp_path)
    meta = json.loads((tmp_path / "data/salicon/meta.json").read_text())
    # train 1: 3 planted, 1 outside; train 2: 1; val 3: 2; val 4: 2
    assert meta["fixation_points"] == {"clipped": 0, "dropped_outside": 1, "kept": 7}
    assert meta["repairs"]["fixations_dropped"]["count"] == 1


# ---------------------------------------------------------------------- archives
def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                zf.writestr(data, b"/etc/passwd")
            else:
                zf.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../evil.txt", "images/../../evil.txt", "/tmp/evil_abs.txt",
                                    "C:/evil.txt", "..\\evil.txt"])
def test_archive_member_escaping_its_folder_is_refused(tmp_path, member):
    arch = _zip(tmp_path / "images.zip", {"images/0001.jpg": b"x", member: b"pwned"})
    target = tmp_path / "deep" / "out"
    with pytest.raises(UnsafeArchive, match="refusing"):
        safe_extract(arch, target)
    assert not target.exists() and not (tmp_path / "deep" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_symlink_member_is_refused_and_dataset_not_prepared(tmp_path):
    info = zipfile.ZipInfo("images/link.jpg")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    raw = tmp_path / "raw"
    raw.mkdir()
    _zip(raw / "images.zip", {"images/0001.jpg": F.jpeg_bytes(F.rgb_image(1)), "link": info})
    rep = prepare("ecssd", raw, tmp_path / "data", quiet=True)
    assert "is a symbolic link" in rep.fatal and "images.zip" in rep.fatal
    assert not (tmp_path / "data" / "ecssd").exists()


def test_rar_without_any_reader_names_the_packages_to_install(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_rar_readers(name, *a, **k):
        if name in ("rarfile", "libarchive"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_rar_readers)
    (tmp_path / "ECSSD.rar").write_bytes(F.rar4_bytes({"images/0001.jpg": b"x"}))
    with pytest.raises(ArchiveError) as e:
        Source(tmp_path / "ECSSD.rar", tmp_path / "work").find_dir("images")
    msg = str(e.value)
    assert "ECSSD.rar: no RAR reader is available here" in msg
    for package in ("the 'data' extra, pip install 'asnet-keras[data]'", "libarchive13",
                    "pip install rarfile",
                    "libarchive-tools", "--src"):
        assert package in msg


def test_repackaged_thus10k_fails_naming_what_it_found(tmp_path):
    raw = tmp_path / "raw"
    F.write(raw / "MSRA10K" / "images" / "1.jpg", F.jpeg_bytes(F.rgb_image(1)))
    F.write(raw / "MSRA10K" / "gt_masks" / "1.png", F.png_bytes(F.mask_array()))
    rep = prepare("thus10k", raw, tmp_path / "data", quiet=True)
    assert "MSRA10K_Imgs_GT/Imgs/" in rep.fatal and "gt_masks, images" in rep.fatal
    assert main(["thus10k", "--src", str(raw), "--dst", str(tmp_path / "data"), "-q"]) == 1


def test_salicon_missing_fixation_file_and_orphan_annotations(tmp_path):
    raw = tmp_path / "raw"
    F.make_salicon_2017(raw)
    (raw / "fixations/train/COCO_train2014_000000000002.mat").unlink()
    (raw / "images/val/COCO_val2014_000000000004.jpg").unlink()
    rep = prep("salicon", raw, tmp_path)
    assert rejected(rep) == {
        ("images/train/COCO_train2014_000000000002.jpg", "image without its fixations"),
        ("fixations/val/COCO_val2014_000000000004.mat", "annotation without an image"),
        ("maps/val/COCO_val2014_000000000004.png", "annotation without an image")}
    assert (tmp_path / "data/salicon/val/list_holdout.txt").read_text() == "COCO_val2014_000000000003\n"


def test_mit1003_point_map_of_another_size_is_rejected(tmp_path):
    raw = tmp_path / "raw"
    F.make_mit1003(raw)
    F.write(raw / "ALLFIXATIONMAPS/i1000_fixPts.jpg", F.jpeg_bytes(np.zeros((20, 40), np.uint8)))
    rep = prep("mit1003", raw, tmp_path)
    assert rejected(rep) == {("ALLFIXATIONMAPS/i1000_fixPts.jpg",
                              "fixation point map is 20x40 but the image is 30x40 (HxW)")}


def test_swapped_columns_are_flagged(tmp_path):
    raw = tmp_path / "raw"
    F.make_salicon_2015(raw)
    doc = json.loads((raw / "fixations_train2014.json").read_text())
    doc["annotations"][0]["fixations"] = [[35, 4], [39, 10], [5, 3]]  # written [x, y], not [row, col]
    (raw / "fixations_train2014.json").write_text(json.dumps(doc))
    rep = prep("salicon", raw, tmp_path)
    assert rep.warnings[-1:] == ["fixation columns look swapped: on landscape images no x exceeds the "
                            "image height but 2 y values do"]
    assert rep.points["dropped_outside"] == 2
