"""The real downloads as users have them (docs/datasets_downloads.md): SALICON 2017
archives zipped, unpacked into folders named after them, or unpacked side by side; the
official maps never silently replaced; SALICON editions told apart by content; DUTS and
DUT-OMRON copies from before 2018-01-22; HKU-IS as the real ``HKU-IS.rar``; and every
dataset in every layout."""

import hashlib
import json
import zipfile

import cv2
import numpy as np
import pytest

import tests.support.data_prep_fixtures as F
from data_prep import archives
from asnet_keras.commands.prepare import main
from data_prep.datasets import salicon
from data_prep.fixations import density_sigma
from data_prep.runner import find_raw, prepare


def read_gray(path):
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert a is not None and a.ndim == 2, path
    return a


def meta_of(data, name):
    return json.loads((data / name / "meta.json").read_text())


def run(name, raw, data, **opts):
    rep = prepare(name, raw, data, quiet=True, **opts)
    assert rep.fatal is None, rep.fatal
    assert rep.rejects == [], rep.rejects
    return rep


def libarchive_or_skip():
    try:
        import libarchive  # noqa: F401
    except Exception as e:  # package missing, or the system libarchive not found
        pytest.skip(f"libarchive-c cannot load the system libarchive here ({e}); "
                    "make setup installs libarchive-c, Debian package libarchive13")


TRAIN1 = "COCO_train2014_000000000001"


def check_salicon_official(data, rep):
    root = data / "salicon"
    pts = read_gray(root / "train" / "fixpts" / f"{TRAIN1}.png")
    assert sorted(zip(*np.nonzero(pts), strict=True)) == [(2, 4), (29, 39)]
    fm = read_gray(root / "train" / "fixmaps" / f"{TRAIN1}.png")
    assert fm[15, 15] == 255 and fm[12, 12] == 128 and fm[0, 0] == 0  # 100 * 255 / 200
    for split, ids in F.SALICON_STEMS.items():
        assert (root / split / "list.txt").read_text().split() == sorted(ids)
    meta = meta_of(data, "salicon")
    assert meta["edition"] == "2017" and meta["density"]["name"] == "official"
    assert meta["density_per_split"] == {"train": "official", "val": "official"}
    assert rep.computed_maps == []
    assert rep.fixmap_source == {"train": "official", "val": "official", "test": "-"}
    return meta


# --------------------------------------------------------------------- SALICON layouts
SALICON_LAYOUTS = {
    # the three archives exactly as downloaded
    "all_zipped": "zip",
    # each unpacked into a folder named after it: images/images/…, fixations/train, maps/train
    "each_into_named_folder": "into",
    # unzipped where they are: images/…, and fixations.zip + maps.zip merged into train/, val/
    "unpacked_side_by_side": "here",
    # the layout pysaliency / MSI-Net produce: images/, fixations/, maps/
    "unpacked_as_redistributed": F.SALICON_UNPACKED,
    # fixations unpacked, maps.zip left zipped (it used to be ignored)
    "fixations_unpacked_maps_zipped": {"images.zip": "here", "fixations.zip": "into",
                                       "maps.zip": "zip"},
    # fixations zipped, maps unpacked without a folder named after the archive
    "fixations_zipped_maps_unpacked": {"images.zip": "zip", "fixations.zip": "zip",
                                       "maps.zip": "here"},
}
assert len(SALICON_LAYOUTS) == 6
assert len(F.ALL_DATASETS) == 8


@pytest.mark.parametrize("layout", list(SALICON_LAYOUTS), ids=list(SALICON_LAYOUTS))
def test_salicon_2017_every_layout_uses_the_official_maps(tmp_path, layout):
    F.make_salicon_2017(tmp_path / "raw", SALICON_LAYOUTS[layout])
    rep = run("salicon", tmp_path / "raw", tmp_path / "data")
    meta = check_salicon_official(tmp_path / "data", rep)
    assert "n x 1 struct array" in meta["edition_recognised_by"]
    used = {split: m["source"] for split, m in meta["maps"].items()}
    zipped = SALICON_LAYOUTS[layout] == "zip" or (
        isinstance(SALICON_LAYOUTS[layout], dict) and SALICON_LAYOUTS[layout]["maps.zip"] == "zip")
    assert used == ({"train": "maps.zip", "val": "maps.zip"} if zipped else
                    {"train": used["train"], "val": used["val"]})
    assert all(m["used"] for m in meta["maps"].values())


def test_salicon_2017_archives_bundled_in_one_zip(tmp_path):
    bundle = {f"SALICON/{name}": F.archive_bytes(name, members)
              for name, members in F.salicon_archives().items()}
    F.materialize(tmp_path / "raw", {"salicon_all.zip": bundle}, "zip")
    rep = run("salicon", tmp_path / "raw", tmp_path / "data")
    meta = check_salicon_official(tmp_path / "data", rep)
    assert meta["maps"]["val"]["source"] == "maps.zip"


def test_salicon_2017_archives_as_downloaded_are_named_in_meta(tmp_path):
    F.make_salicon_2017(tmp_path / "raw", "zip")
    run("salicon", tmp_path / "raw", tmp_path / "data")
    meta = meta_of(tmp_path / "data", "salicon")
    raw = tmp_path / "raw"
    assert meta["source"]["archives"] == [
        {"name": n, "md5": hashlib.md5((raw / n).read_bytes()).hexdigest()}
        for n in ("fixations.zip", "images.zip", "maps.zip")]
    assert meta["fixations_source"] == {"train": "fixations.zip", "val": "fixations.zip"}
    assert meta["edition_recognised_by"].startswith("fixations.zip: 'gaze' is stored as an n x 1")
    assert "2 train, 2 val .mat files" in meta["edition_recognised_by"]


def test_salicon_2017_without_maps_says_so_and_exits_1_unless_allowed(tmp_path, capsys):
    F.make_salicon_2017(tmp_path / "raw", "zip", maps=False)
    args = ["salicon", "--src", str(tmp_path / "raw"), "--dst", str(tmp_path / "data"), "-q"]
    assert main(args) == 1
    out = capsys.readouterr()
    rows = {tuple(l.split()[:2]): l for l in out.out.splitlines() if l.startswith("salicon")}
    assert rows[("salicon", "train")].endswith("computed sigma=19 (NO official maps)")
    assert rows[("salicon", "val")].endswith("computed sigma=19 (NO official maps)")
    assert rows[("salicon", "test")].endswith("-")
    assert "official density maps not found for train, val" in out.err
    assert "--allow-computed-maps" in out.err
    root = tmp_path / "data" / "salicon"
    pts = read_gray(root / "train" / "fixpts" / f"{TRAIN1}.png")
    np.testing.assert_array_equal(read_gray(root / "train" / "fixmaps" / f"{TRAIN1}.png"),
                                  density_sigma(pts, 19.0))
    meta = json.loads((root / "meta.json").read_text())
    assert meta["density"]["name"] == "salicon-sigma19"
    assert meta["maps"]["train"] == {"source": None, "used": False,
                                     "note": "maps.zip absent: computed with sigma = 19 px"}
    assert main(args + ["--allow-computed-maps"]) == 0
    assert "accepted: --allow-computed-maps" in capsys.readouterr().err


@pytest.mark.parametrize("broken", ["maps_zip_without_val", "empty_maps_folder",
                                    "maps_zip_of_something_else"])
def test_salicon_present_but_incomplete_maps_are_never_replaced(tmp_path, broken):
    raw = tmp_path / "raw"
    arch = F.salicon_archives("2017")
    if broken == "maps_zip_without_val":
        arch["maps.zip"] = {k: v for k, v in arch["maps.zip"].items() if k.startswith("train/")}
        F.materialize(raw, arch, "zip")
        where = "maps.zip"
    elif broken == "empty_maps_folder":
        del arch["maps.zip"]
        F.materialize(raw, arch, "zip")
        (raw / "maps").mkdir()
        where = "maps/"
    else:
        arch["maps.zip"] = {"README.txt": b"not the maps"}
        F.materialize(raw, arch, "zip")
        where = "maps.zip"
    rep = prepare("salicon", raw, tmp_path / "data", quiet=True)
    assert rep.fatal is not None
    assert f"official SALICON maps are present ({where}) but hold no maps for" in rep.fatal
    assert "never replaced by computed ones" in rep.fatal
    assert main(["salicon", "--src", str(raw), "--dst", str(tmp_path / "d2"), "-q",
                 "--allow-computed-maps"]) == 1  # not prepared: the input failed


# -------------------------------------------------------------------- SALICON editions
def test_salicon_2015_mat_edition_is_recognised_by_its_gaze_layout(tmp_path):
    F.make_salicon_2015_mat(tmp_path / "raw", "zip")
    run("salicon", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "salicon"
    meta = meta_of(tmp_path / "data", "salicon")
    assert meta["edition"] == "2015"
    assert meta["edition_recognised_by"] == (
        "fixations.zip: 'gaze' is stored as an 1 x n struct array (one element per viewer) in "
        "4 of 4 sampled .mat files, the 2015 layout (2 train, 2 val .mat files)")
    assert meta["density"]["name"] == "salicon-sigma19"
    pts = read_gray(root / "train" / "fixpts" / f"{TRAIN1}.png")
    # the same [x, y] 1-based reading
    assert sorted(zip(*np.nonzero(pts), strict=True)) == [(2, 4), (29, 39)]


def test_salicon_both_mat_editions_need_edition_and_it_picks_the_right_files(tmp_path):
    raw = tmp_path / "raw"
    F.make_salicon_2017(raw, "zip")
    F.make_salicon_2015_mat(raw, "zip", name="fixations_2015.zip", images=False)
    rep = prepare("salicon", raw, tmp_path / "data", quiet=True)
    assert "holds fixations of both SALICON editions" in rep.fatal
    assert "fixations.zip -> 2017" in rep.fatal and "fixations_2015.zip -> 2015" in rep.fatal
    run("salicon", raw, tmp_path / "d15", edition="2015")
    meta = meta_of(tmp_path / "d15", "salicon")
    assert meta["edition"] == "2015"
    assert meta["fixations_source"] == {"train": "fixations_2015.zip", "val": "fixations_2015.zip"}
    assert meta["maps"]["train"]["used"] is False  # the 2017 maps are not mixed in
    assert meta["density"]["name"] == "salicon-sigma19"
    rep = run("salicon", raw, tmp_path / "d17", edition="2017")
    check_salicon_official(tmp_path / "d17", rep)
    assert meta_of(tmp_path / "d17", "salicon")["fixations_source"]["train"] == "fixations.zip"


def test_salicon_2015_json_and_2017_mat_unpacked_need_edition(tmp_path):
    raw = tmp_path / "raw"
    F.make_salicon_2017(raw)
    F.make_salicon_2015(raw)
    rep = prepare("salicon", raw, tmp_path / "data", quiet=True)
    assert "fixations/ -> 2017" in rep.fatal and "-> 2015 (COCO-style fixation annotations" \
        in rep.fatal


def test_salicon_published_md5_decides_the_edition(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    F.make_salicon_2017(raw, "zip")
    md5 = hashlib.md5((raw / "fixations.zip").read_bytes()).hexdigest()
    monkeypatch.setattr(salicon, "PUBLISHED_FIXATION_MD5", {md5: "2017"})
    run("salicon", raw, tmp_path / "data")
    how = meta_of(tmp_path / "data", "salicon")["edition_recognised_by"]
    assert how == (f"fixations.zip: MD5 of fixations.zip ({md5}) is the published MD5 of the "
                   "SALICON 2017 fixation archive")


def test_salicon_undecidable_edition_asks_for_edition(tmp_path):
    raw = tmp_path / "raw"
    arch = F.salicon_archives("2017")
    for name in list(arch["fixations.zip"]):  # one viewer per image: n x 1 == 1 x n
        stem = name.rsplit("/", 1)[1][:-4]
        arch["fixations.zip"][name] = F.mat_bytes(
            {"image": stem, "resolution": np.array([[F.H, F.W]], np.uint16),
             "gaze": F.salicon_gaze([np.array([[3, 4]])])})
    F.materialize(raw, arch, "zip")
    rep = prepare("salicon", raw, tmp_path / "data", quiet=True)
    assert "cannot tell the SALICON edition" in rep.fatal and "--edition" in rep.fatal
    run("salicon", raw, tmp_path / "data", edition="2017")
    how = meta_of(tmp_path / "data", "salicon")["edition_recognised_by"]
    assert how.startswith("fixations.zip: --edition 2017 (content undecided: none of the 4")


def test_salicon_2015_json_edition_is_recorded_with_its_evidence(tmp_path):
    F.make_salicon_2015(tmp_path / "raw")
    run("salicon", tmp_path / "raw", tmp_path / "data")
    meta = meta_of(tmp_path / "data", "salicon")
    assert meta["edition"] == "2015"
    assert meta["edition_recognised_by"] == (
        "raw/: COCO-style fixation annotations fixations_train2014.json, "
        "fixations_val2014.json, the form of the 2015 release only")


# ------------------------------------------------------------------ DUTS, DUT-OMRON
def test_duts_copy_from_before_2018_is_repaired_as_the_authors_say(tmp_path):
    F.make_duts(tmp_path / "raw", "zip", pre2018=True)
    rep = run("duts", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "duts"
    stem = "ILSVRC2014_train_00023530"
    assert stem in (root / "train" / "list.txt").read_text().split()
    jpg = F.duts_archives(True)["DUTS-TR.zip"][f"DUTS-TR/DUTS-TR-Mask/{stem}.jpg"]
    expect = np.where(cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_GRAYSCALE) >= 128,
                      255, 0)
    np.testing.assert_array_equal(read_gray(root / "train" / "masks" / f"{stem}.png"), expect)
    assert (root / "test" / "list.txt").read_text() == "sun_aaaa\n"  # 36002 left out
    meta = meta_of(tmp_path / "data", "duts")
    tr = "DUTS-TR.zip:DUTS-TR/DUTS-TR-Mask/"
    assert meta["repairs"]["duts_mask_from_jpg"]["files"] == [f"{tr}{stem}.jpg"]
    assert meta["repairs"]["duts_defect_removed"]["files"] == [
        "DUTS-TE.zip:DUTS-TE/DUTS-TE-Image/ILSVRC2012_test_00036002.jpg",
        "DUTS-TE.zip:DUTS-TE/DUTS-TE-Mask/ILSVRC2012_test_00036002.png",
        f"{tr}{stem}.png"]
    assert meta["ignored_files"] == []
    assert meta["splits"]["train"]["images"] == 3 and meta["splits"]["test"]["images"] == 1


def test_duts_corrected_copy_with_the_same_names_is_left_alone(tmp_path):
    arch = F.duts_archives()
    arch["DUTS-TR.zip"]["DUTS-TR/DUTS-TR-Image/n01532829_13482.jpg"] = F.jpeg_bytes(F.rgb_image(3))
    arch["DUTS-TR.zip"]["DUTS-TR/DUTS-TR-Mask/n01532829_13482.png"] = F.png_bytes(F.mask_array())
    arch["DUTS-TE.zip"]["DUTS-TE/DUTS-TE-Image/sun_bcogaqperiljqupq.jpg"] = F.jpeg_bytes(F.rgb_image(4))
    arch["DUTS-TE.zip"]["DUTS-TE/DUTS-TE-Mask/sun_bcogaqperiljqupq.png"] = F.png_bytes(F.mask_array())
    F.materialize(tmp_path / "raw", arch, "here")
    rep = run("duts", tmp_path / "raw", tmp_path / "data")
    root = tmp_path / "data" / "duts"
    assert "n01532829_13482" in (root / "train" / "list.txt").read_text().split()
    assert "sun_bcogaqperiljqupq" in (root / "test" / "list.txt").read_text().split()
    assert not rep.repairs


def test_dut_omron_images_removed_in_2018_are_left_out_not_rejected(tmp_path):
    arch = F.dut_omron_archives()
    arch["DUT-OMRON-image.zip"]["DUT-OMRON-image/sun_bqfgwnmzhjwuphdi.jpg"] = \
        F.jpeg_bytes(F.rgb_image(5))
    arch["DUT-OMRON-eye-fixations.zip"]["DUT-OMRON-eye-fixations/mat/sun_bqfgwnmzhjwuphdi.mat"] = \
        F.mat_bytes({"s": F.DUT_FIX["im002"]})
    F.materialize(tmp_path / "raw", arch, "zip")
    run("dut-omron", tmp_path / "raw", tmp_path / "data")
    meta = meta_of(tmp_path / "data", "dut-omron")
    assert (tmp_path / "data/dut-omron/train/list.txt").read_text() == "im001\nim002\n"
    assert meta["repairs"]["dut_omron_removed_image"]["files"] == [
        "DUT-OMRON-eye-fixations.zip:DUT-OMRON-eye-fixations/mat/sun_bqfgwnmzhjwuphdi.mat",
        "DUT-OMRON-image.zip:DUT-OMRON-image/sun_bqfgwnmzhjwuphdi.jpg"]


# ------------------------------------------------------------------------- HKU-IS.rar
def test_rar4_fixture_is_a_real_rar_read_by_two_independent_readers(tmp_path):
    members = {"HKU-IS/imgs/0004.png": b"\x89PNG fake", "HKU-IS/gt/0004.png": b"mask bytes"}
    path = tmp_path / "t.rar"
    path.write_bytes(F.rar4_bytes(members))
    readers = 0
    try:
        import libarchive
        with libarchive.file_reader(str(path)) as entries:
            got = {e.pathname: b"".join(e.get_blocks()) for e in entries}
        assert got == members
        readers += 1
    except ImportError:
        pass
    except OSError:  # libarchive-c present, system library missing
        pass
    try:
        import rarfile
        rf = rarfile.RarFile(str(path))
        assert {i.filename: rf.read(i) for i in rf.infolist()} == members
        readers += 1
    except ImportError:
        pass
    if not readers:
        pytest.skip("neither libarchive-c (make setup) nor rarfile is usable here")


def test_hku_is_rar_as_distributed(tmp_path):
    libarchive_or_skip()
    F.make_hku_is(tmp_path / "raw", "zip")
    assert find_raw(tmp_path / "raw") == {"hku-is": tmp_path / "raw" / "HKU-IS.rar"}
    run("hku-is", tmp_path / "raw" / "HKU-IS.rar", tmp_path / "data")
    root = tmp_path / "data" / "hku-is" / "test"
    assert (root / "list.txt").read_text() == "0004\n0005\n0010\n"
    assert (root / "list_mdf_train.txt").read_text() == "0004\n0010\n"
    src = cv2.imdecode(np.frombuffer(F.hku_is_archives()["HKU-IS.rar"]["HKU-IS/gt/0010.png"],
                                     np.uint8), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(read_gray(root / "masks" / "0010.png"), src)
    meta = meta_of(tmp_path / "data", "hku-is")
    rar = (tmp_path / "raw" / "HKU-IS.rar").read_bytes()
    assert meta["source"]["archives"] == [{"name": "HKU-IS.rar",
                                           "md5": hashlib.md5(rar).hexdigest()}]
    assert meta["repairs"]["png_to_jpeg"]["files"][0] == "HKU-IS.rar:HKU-IS/imgs/0004.png"


def test_hku_is_rar_through_rarfile(tmp_path, monkeypatch):
    rarfile = pytest.importorskip("rarfile")  # stored members need no external tool
    monkeypatch.setattr(archives, "rar_backend", lambda: ("rarfile", rarfile))
    F.make_hku_is(tmp_path / "raw", "zip")
    run("hku-is", tmp_path / "raw", tmp_path / "data")
    assert (tmp_path / "data/hku-is/test/list.txt").read_text() == "0004\n0005\n0010\n"


def test_unsafe_rar_member_is_refused(tmp_path):
    libarchive_or_skip()
    (tmp_path / "HKU-IS.rar").write_bytes(F.rar4_bytes({"HKU-IS/imgs/1.png": b"x",
                                                        "../evil.txt": b"pwned"}))
    with pytest.raises(archives.UnsafeArchive, match="refusing"):
        archives.safe_extract(tmp_path / "HKU-IS.rar", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


# ------------------------------------------------------------- every dataset, every layout
@pytest.mark.parametrize("layout", ["zip", "into", "here"])
@pytest.mark.parametrize("dataset", list(F.ALL_DATASETS))
def test_every_dataset_in_every_layout(tmp_path, dataset, layout):
    if dataset == "hku-is" and layout == "zip":
        libarchive_or_skip()
    make, expected = F.ALL_DATASETS[dataset]
    make(tmp_path / "raw", layout)
    run(dataset, tmp_path / "raw", tmp_path / "data")
    for split, ids in expected.items():
        assert (tmp_path / "data" / dataset / split / "list.txt").read_text().split() == ids
    meta = meta_of(tmp_path / "data", dataset)
    names = {a["name"] for a in meta["source"]["archives"]}
    if layout == "zip":
        assert set(F.ALL_ARCHIVES[dataset]) <= names
    if dataset == "salicon":
        assert meta["density"]["name"] == "official"


def test_zip_members_match_the_documented_layouts():
    """The fixture archives hold what docs/datasets_downloads.md §6 lists (top folders)."""
    tops = {name: sorted({m.split("/", 1)[0] for m in members})
            for arch in (F.salicon_archives(), F.thus10k_archives()[0], F.dut_omron_archives(),
                         F.pascal_s_archives()[0], F.mit1003_archives(), F.ecssd_archives()[0],
                         F.hku_is_archives(), F.duts_archives())
            for name, members in arch.items()}
    assert tops == {
        "images.zip": ["images"], "fixations.zip": ["train", "val"], "maps.zip": ["train", "val"],
        "MSRA10K_Imgs_GT.zip": ["MSRA10K_Imgs_GT"],
        "DUT-OMRON-image.zip": ["DUT-OMRON-image"],
        "DUT-OMRON-gt-pixelwise.zip.zip": ["DUT-OMRON-gt-pixelwise.zip"],
        "DUT-OMRON-eye-fixations.zip": ["DUT-OMRON-eye-fixations"],
        "salObj.zip": ["code", "datasets"],
        "ALLSTIMULI.zip": ["ALLSTIMULI"], "ALLFIXATIONMAPS.zip": ["ALLFIXATIONMAPS"],
        "ground_truth_mask.zip": ["ground_truth_mask"],
        "HKU-IS.rar": ["HKU-IS"], "DUTS-TR.zip": ["DUTS-TR"], "DUTS-TE.zip": ["DUTS-TE"]}
    inner = zipfile.ZipFile(__import__("io").BytesIO(
        F.dut_omron_archives()["DUT-OMRON-gt-pixelwise.zip.zip"]["DUT-OMRON-gt-pixelwise.zip"]))
    assert sorted({n.split("/", 1)[0] for n in inner.namelist()}) == ["__MACOSX",
                                                                      "pixelwiseGT-new-PNG"]
