"""Each converter on a miniature raw copy laid out as docs/datasets.md describes, checked
value by value against the prepared layout of docs/datasets.md §10."""

import json

import cv2
import numpy as np

import tests.support.data_prep_fixtures as F
from data_prep.fixations import density_fc8
from data_prep.io import encode_jpeg
from data_prep.runner import prepare


def read_gray(path):
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert a is not None and a.ndim == 2 and a.dtype == np.uint8, path
    return a


def load_npz(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def run(name, raw, data, **opts):
    rep = prepare(name, raw, data, quiet=True, **opts)
    assert rep.fatal is None, rep.fatal
    return rep


def check_layout_common(split_dir, ids, labels):
    assert (split_dir / "list.txt").read_text().split() == sorted(ids)
    for i in ids:
        img = cv2.imread(str(split_dir / "images" / f"{i}.jpg"), cv2.IMREAD_UNCHANGED)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
        for sub in ("masks", "fixpts", "fixmaps"):
            present = (split_dir / sub / f"{i}.png").is_file()
            assert present == (sub in labels), (sub, i)
            if present:
                assert read_gray(split_dir / sub / f"{i}.png").shape == img.shape[:2]
    assert (split_dir / "fixations.npz").is_file() == ("fixpts" in labels)


def test_salicon_2017_fixation_at_1based_xy_lands_on_0based_pixel(tmp_path):
    planted = F.make_salicon_2017(tmp_path / "raw")
    rep = run("salicon", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "salicon"
    for split in ("train", "val"):
        check_layout_common(root / split, planted["stems"][split], {"fixpts", "fixmaps"})
    check_layout_common(root / "test", planted["stems"]["test"], set())
    stem = "COCO_train2014_000000000001"
    pts = read_gray(root / "train" / "fixpts" / f"{stem}.png")
    # (x=5, y=3) -> row 2, col 4; (x=40, y=30) -> row 29, col 39; (x=41) is outside W=40
    assert sorted(zip(*np.nonzero(pts), strict=True)) == [(2, 4), (29, 39)]
    assert set(np.unique(pts)) == {0, 255}
    z = load_npz(root / "train" / "fixations.npz")
    assert list(z["ids"]) == planted["stems"]["train"]
    assert z["image_index"].tolist() == [0, 0, 1]
    assert z["x"].tolist() == [4.0, 39.0, 0.0] and z["y"].tolist() == [2.0, 29.0, 0.0]
    assert z["subject"].tolist() == [0, 1, 0]
    assert z["height"].tolist() == [30, 30] and z["width"].tolist() == [40, 40]
    assert z["x"].dtype == np.float64 and z["image_index"].dtype == np.int64
    assert z["ids"].dtype.kind == "U"
    # official map rescaled: 100 -> round(100 * 255 / 200) = 128, 200 -> 255
    fm = read_gray(root / "train" / "fixmaps" / f"{stem}.png")
    assert fm[15, 15] == 255 and fm[12, 12] == 128 and fm[0, 0] == 0
    meta = json.loads((root / "meta.json").read_text())
    assert meta["edition"] == "2017" and meta["density"]["name"] == "official"
    assert meta["fixation_points"]["dropped_outside"] == 1
    assert meta["repairs"]["fixations_dropped"]["files"] == [f"fixations/train/{stem}.mat"]
    assert (root / "val" / "list_holdout.txt").read_text().split() == planted["stems"]["val"]
    # the source images are baseline JPEGs: copied byte for byte
    assert (root / "train" / "images" / f"{stem}.jpg").read_bytes() == \
        (tmp_path / "raw" / "images" / "train" / f"{stem}.jpg").read_bytes()
    assert rep.rejects == []


def test_salicon_2015_json_is_row_col_and_uses_sigma19(tmp_path):
    planted = F.make_salicon_2015(tmp_path / "raw")
    run("salicon", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "salicon"
    stem, _ = planted["train"]
    pts = read_gray(root / "train" / "fixpts" / f"{stem}.png")
    # [row 3, col 5], [30, 40]
    assert sorted(zip(*np.nonzero(pts), strict=True)) == [(2, 4), (29, 39)]
    z = load_npz(root / "train" / "fixations.npz")
    assert z["x"].tolist() == [4.0, 39.0] and z["y"].tolist() == [2.0, 29.0]
    assert z["subject"].tolist() == [7, 7]
    meta = json.loads((root / "meta.json").read_text())
    assert meta["edition"] == "2015" and meta["density"]["name"] == "salicon-sigma19"
    assert {a["name"] for a in meta["source"]["archives"]} == {"train.zip", "val.zip"}


def test_salicon_both_editions_need_explicit_choice(tmp_path):
    F.make_salicon_2017(tmp_path / "raw")
    F.make_salicon_2015(tmp_path / "raw")
    rep = prepare("salicon", tmp_path / "raw", tmp_path / "data", quiet=True)
    assert rep.fatal is not None and "--edition" in rep.fatal
    rep = prepare("salicon", tmp_path / "raw", tmp_path / "data", quiet=True, edition="2017")
    assert rep.fatal is None
    assert json.loads((tmp_path / "data/salicon/meta.json").read_text())["edition"] == "2017"


def test_thus10k_from_the_zip_as_downloaded(tmp_path):
    planted = F.make_thus10k(tmp_path / "raw")
    run("thus10k", tmp_path / "raw" / "MSRA10K_Imgs_GT.zip", tmp_path / "data")
    root = tmp_path / "data" / "thus10k" / "train"
    check_layout_common(root, ["1", "7", "12"], {"masks"})
    assert (root / "list.txt").read_text() == "1\n12\n7\n"  # sorted as strings
    for stem, m in planted["masks"].items():
        np.testing.assert_array_equal(read_gray(root / "masks" / f"{stem}.png"), m)
    assert not (tmp_path / "data" / "thus10k" / "train" / "fixations.npz").exists()


def test_dut_omron_zero_based_size_row_clip_and_macos_junk(tmp_path):
    planted = F.make_dut_omron(tmp_path / "raw", zipped=True)
    rep = run("dut-omron", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "dut-omron" / "train"
    check_layout_common(root, planted["stems"], {"masks", "fixpts", "fixmaps"})
    pts = read_gray(root / "fixpts" / "im001.png")
    # 0-based: (x=4, y=2) -> (2, 4); (x=40, y=5) clipped -> (5, 39); (x=60) dropped; (0, 0)
    assert sorted(zip(*np.nonzero(pts), strict=True)) == [(0, 0), (2, 4), (5, 39)]
    z = load_npz(root / "fixations.npz")
    assert z["x"][z["image_index"] == 0].tolist() == [4.0, 39.0, 0.0]
    assert z["subject"][z["image_index"] == 0].tolist() == [1, 2, 4]
    np.testing.assert_array_equal(read_gray(root / "fixmaps" / "im001.png"), density_fc8(pts))
    np.testing.assert_array_equal(read_gray(root / "masks" / "im001.png"),
                                  F.mask_array(box=(4, 20, 6, 30)))
    meta = json.loads((tmp_path / "data" / "dut-omron" / "meta.json").read_text())
    assert meta["fixation_points"] == {"clipped": 1, "dropped_outside": 1, "kept": 5}
    assert meta["density"]["name"] == "fc8-fourier"
    names = {a["name"] for a in meta["source"]["archives"]}
    assert {"DUT-OMRON-image.zip", "DUT-OMRON-gt-pixelwise.zip.zip", "DUT-OMRON-gt-pixelwise.zip",
            "DUT-OMRON-eye-fixations.zip"} <= names
    assert rep.rejects == [] and rep.ignored == set()  # ._ twins and __MACOSX skipped silently


def test_pascal_s_v73_row_col_order_and_half_threshold(tmp_path):
    planted = F.make_pascal_s(tmp_path / "raw")
    rep = run("pascal-s", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "pascal-s" / "test"
    check_layout_common(root, ["1", "2", "3"], {"masks", "fixpts", "fixmaps"})
    # grey levels 0, 85, 127 -> 0; 128, 170, 255 -> 255 (>= 0.5)
    m = read_gray(root / "masks" / "1.png")
    assert m[:, :25].max() == 0 and m[:, 25:].min() == 255
    assert read_gray(root / "masks" / "2.png").min() == 255  # all 170
    def points(name):
        return sorted(zip(*np.nonzero(read_gray(root / "fixpts" / name)), strict=True))

    # cell 1: [row 3, col 5] -> (2, 4); [row 30, col 40] -> (29, 39); row 31 outside
    assert points("1.png") == [(2, 4), (29, 39)]
    assert points("2.png") == [(39, 29)]  # portrait
    assert read_gray(root / "fixpts" / "3.png").max() == 0
    z = load_npz(root / "fixations.npz")
    assert z["ids"].tolist() == ["1", "2", "3"]
    assert z["image_index"].tolist() == [0, 0, 1]
    assert z["x"].tolist() == [4.0, 39.0, 29.0] and z["y"].tolist() == [2.0, 29.0, 39.0]
    assert z["subject"].tolist() == [1, 2, 1]
    assert z["height"].tolist() == [30, 40, 30] and z["width"].tolist() == [40, 30, 40]
    meta = json.loads((tmp_path / "data" / "pascal-s" / "meta.json").read_text())
    assert meta["repairs"]["mask_not_binary"]["count"] == 3
    assert meta["repairs"]["no_fixations"]["files"] == ["pascalFix.mat fixCell{3}"]
    assert meta["repairs"]["fixations_dropped"]["files"] == ["pascalFix.mat fixCell{1}"]
    assert rep.rejects == []


def test_mit1003_jpeg_points_threshold_and_stray_file_ignored(tmp_path):
    planted = F.make_mit1003(tmp_path / "raw")
    rep = run("mit1003", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "mit1003" / "test"
    check_layout_common(root, planted["stems"], {"fixpts", "fixmaps"})
    assert (root / "list.txt").read_text().split() == sorted(planted["stems"])  # 2, not 3
    for stem, points in planted["points"].items():
        found = np.nonzero(read_gray(root / "fixpts" / f"{stem}.png"))
        assert sorted(zip(*found, strict=True)) == points
    z = load_npz(root / "fixations.npz")
    i = z["ids"].tolist().index(F.MIT_STEM)
    sel = z["image_index"] == i
    assert z["y"][sel].tolist() == [3.0, 20.0] and z["x"][sel].tolist() == [5.0, 30.0]
    assert set(z["subject"].tolist()) == {-1}
    fm = read_gray(root / "fixmaps" / f"{F.MIT_STEM}.png")
    assert fm.max() == 255
    src = cv2.imread(str(tmp_path / "raw/ALLFIXATIONMAPS" / f"{F.MIT_STEM}_fixMap.jpg"),
                     cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(fm, np.floor(src / src.max() * 255 + 0.5).astype(np.uint8))
    meta = json.loads((tmp_path / "data" / "mit1003" / "meta.json").read_text())
    assert meta["ignored_files"] == [f"ALLFIXATIONMAPS/{F.MIT_STEM}fixPts.jpg"]
    assert rep.rejects == []


def test_ecssd_from_two_zips(tmp_path):
    planted = F.make_ecssd(tmp_path / "raw")
    run("ecssd", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "ecssd" / "test"
    check_layout_common(root, ["0001", "0002"], {"masks"})
    for stem, m in planted["masks"].items():
        np.testing.assert_array_equal(read_gray(root / "masks" / f"{stem}.png"), m)


def test_hku_is_png_images_and_mdf_lists(tmp_path):
    F.make_hku_is(tmp_path / "raw")
    rep = run("hku-is", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "hku-is" / "test"
    check_layout_common(root, ["0004", "0005", "0010"], {"masks"})
    assert (root / "list_mdf_train.txt").read_text() == "0004\n0010\n"
    assert (root / "list_mdf_val.txt").read_text() == "0005\n"
    assert (root / "list_mdf_test.txt").read_text() == ""
    src = cv2.imread(str(tmp_path / "raw/HKU-IS/imgs/0004.png"))
    # re-encoded as a quality-95 baseline JPEG of exactly the PNG's pixels
    assert (root / "images/0004.jpg").read_bytes() == encode_jpeg(src)
    assert np.abs(cv2.imread(str(root / "images/0004.jpg")).astype(int) - src).mean() < 2
    assert sorted(rep.repairs["png_to_jpeg"]) == ["HKU-IS/imgs/0004.png", "HKU-IS/imgs/0005.png",
                                                  "HKU-IS/imgs/0010.png"]


def test_duts_zipped_train_and_unpacked_test(tmp_path):
    F.make_duts(tmp_path / "raw")
    run("duts", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "duts"
    check_layout_common(root / "train", ["ILSVRC2012_test_00000004", "n01440764_1"], {"masks"})
    check_layout_common(root / "test", ["sun_aaaa"], {"masks"})
    meta = json.loads((root / "meta.json").read_text())
    assert meta["splits"]["train"]["images"] == 2 and meta["splits"]["test"]["masks"] == 1
