"""`asnet verify-data`: every kind of damage found and named, quick vs full, the
cache of verified files, the CLI, and the data_prep command that repairs the damage
(docs/data_integrity.md §1–2). No TensorFlow: these run in about a second."""

import json
import os
import shlex
import struct

import cv2
import numpy as np
import pytest

from asnet_keras.commands import verify_data as verify_data_cli
from asnet_keras.data import file_checks
from asnet_keras.data import verification as verify_data
from tests.support.bad_data_fixtures import SYNTHETIC, copy_tree, damage_three, junk, remove_entry, truncate
from data_prep.synthetic import make_synthetic


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    make_synthetic(root, n=8, size=48)
    return str(root)


@pytest.fixture
def root(clean, tmp_path):
    return copy_tree(clean, tmp_path / "prepared")


def _path(root, dataset, split, folder, sample_id, suffix):
    return os.path.join(root, dataset, split, folder, sample_id + suffix)


def _reasons(result):
    return {p.path: p.reason for p in result.problems}


def test_clean_data_has_no_problem_and_counts_what_training_reads(clean):
    result = verify_data.verify(clean, SYNTHETIC, "quick", progress=False, use_cache=False)
    assert result.problems == []
    # train 8 + val 2 per dataset; files: image + fixmap | image + mask | image + both
    assert result.checked == 30 and result.cached == 0
    assert result.files == 10 * 2 + 10 * 2 + 10 * 3


def test_the_three_damages_are_named_with_their_reasons(root):
    named = damage_three(root)
    result = verify_data.verify(root, SYNTHETIC, "quick", progress=False, use_cache=False)
    reasons = _reasons(result)
    assert len(result.problems) == 3, reasons
    assert reasons[named["truncated"]].startswith("truncated: no JPEG end-of-image marker")
    assert reasons[named["junk"]].startswith("not a PNG file")
    assert reasons[named["missing"]] == (
        "lists 'train_00007' but none of its files exist (images/train_00007.jpg, "
        "fixmaps/train_00007.png)")
    message = str(verify_data.DataProblems(result.problems, root))
    for path in (named["truncated"], named["junk"], named["missing"]):
        assert path in message
    assert f"asnet prepare synthetic --dst {root} --n 8 --n-test 8 --size 48 --seed 0" \
        in message


def test_the_repair_command_repairs(root):
    damage_three(root)
    result = verify_data.verify(root, SYNTHETIC, "quick", progress=False, use_cache=False)
    command = verify_data.repair_command(root, "synthetic-both")
    from asnet_keras.commands.prepare import main as data_prep_main

    argv = shlex.split(command)[2:]  # drop "asnet prepare"
    assert data_prep_main(argv + ["--quiet"]) == 0
    assert result.problems
    again = verify_data.verify(root, SYNTHETIC, "quick", progress=False, use_cache=False)
    assert again.problems == []


def test_size_and_label_problems(root):
    # a mask of another size than its image; an image whose size is not the one that
    # fixations.npz records; a mask missing in a split that has masks; a truncated PNG
    mask = _path(root, "synthetic-both", "train", "masks", "train_00001", ".png")
    h, w = cv2.imread(mask, cv2.IMREAD_GRAYSCALE).shape
    cv2.imwrite(mask, np.zeros((h + 3, w, 1), np.uint8))
    image = _path(root, "synthetic-fix", "train", "images", "train_00002", ".jpg")
    hi, wi = cv2.imread(image).shape[:2]
    cv2.imwrite(image, np.zeros((hi, wi + 5, 3), np.uint8))
    gone = _path(root, "synthetic-sod", "val", "masks", "val_00001", ".png")
    os.remove(gone)
    fixmap = _path(root, "synthetic-both", "val", "fixmaps", "val_00000", ".png")
    truncate(fixmap, 0.5)
    reasons = _reasons(verify_data.verify(root, SYNTHETIC, "quick", progress=False,
                                          use_cache=False))
    assert reasons == {
        mask: f"is {h + 3}×{w} px (H×W) but its image is {h}×{w}",
        image: f"is {hi}×{wi + 5} px (H×W) but fixations.npz records {hi}×{wi} for this id",
        image.replace("images", "fixmaps").replace(".jpg", ".png"):
            f"is {hi}×{wi} px (H×W) but its image is {hi}×{wi + 5}",
        gone: "missing: the split has masks (meta.json labels) but not this id's",
        fixmap: reasons[fixmap],
    }
    assert reasons[fixmap].startswith("truncated: the PNG")


def test_inspect_file_formats(tmp_path):
    ok = tmp_path / "ok.jpg"
    cv2.imwrite(str(ok), np.full((20, 30, 3), 90, np.uint8))
    assert file_checks.inspect_file(ok) == (20, 30)
    # bytes after the end marker (as some cameras write) are no truncation
    trailing = tmp_path / "trailing.jpg"
    trailing.write_bytes(ok.read_bytes() + bytes(10_000))
    assert file_checks.inspect_file(trailing, full=True) == (20, 30)
    cmyk = tmp_path / "cmyk.jpg"  # a frame header with 4 components
    cmyk.write_bytes(b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 20, 8, 16, 16, 4) + bytes(12)
                     + b"\xff\xda" + struct.pack(">H", 8) + bytes(6) + bytes(10) + b"\xff\xd9")
    with pytest.raises(file_checks.BadFile, match="4-component"):
        file_checks.inspect_file(cmyk)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(file_checks.BadFile, match="empty"):
        file_checks.inspect_file(empty, "mask")
    with pytest.raises(file_checks.BadFile, match="not a PNG"):
        file_checks.inspect_file(ok, "mask")  # a JPEG where a PNG label belongs
    with pytest.raises(file_checks.BadFile, match="^missing$"):
        file_checks.inspect_file(tmp_path / "nope.png", "mask")


def test_full_finds_damage_inside_the_pixel_data_that_quick_cannot(root):
    mask = _path(root, "synthetic-sod", "train", "masks", "train_00002", ".png")
    data = bytearray(open(mask, "rb").read())
    start = data.index(b"IDAT") + 4
    for i in range(start + 2, start + 12):  # flip compressed bytes; structure intact
        data[i] ^= 0x5A
    open(mask, "wb").write(bytes(data))
    quick = verify_data.verify(root, SYNTHETIC, "quick", progress=False, use_cache=False)
    full = verify_data.verify(root, SYNTHETIC, "full", progress=False, use_cache=False)
    assert quick.problems == []
    assert _reasons(full) == {mask: "cannot be decoded: the compressed pixel data is corrupt"}


def test_cache_skips_unchanged_files_and_rechecks_changed_ones(root, tmp_path, monkeypatch):
    monkeypatch.setenv("ASNET_KERAS_CACHE", str(tmp_path / "cache"))
    first = verify_data.verify(root, SYNTHETIC, "quick", progress=False)
    assert (first.checked, first.cached) == (30, 0)
    second = verify_data.verify(root, SYNTHETIC, "quick", progress=False)
    assert (second.checked, second.cached, second.problems) == (0, 30, [])
    # a file damaged after the check is checked again (its size and mtime changed)
    image = _path(root, "synthetic-both", "train", "images", "train_00004", ".jpg")
    truncate(image)
    third = verify_data.verify(root, SYNTHETIC, "quick", progress=False)
    assert (third.checked, third.cached) == (1, 29)
    assert [p.path for p in third.problems] == [image]
    # problems are not cached; quick results do not stand in for full ones
    assert verify_data.verify(root, SYNTHETIC, "quick", progress=False).checked == 1
    assert verify_data.verify(root, SYNTHETIC, "full", progress=False).checked == 30
    assert verify_data.verify(root, SYNTHETIC, "quick", progress=False).checked == 1
    # new checksums in meta.json (data_prep ran again): everything of that split again
    meta_path = os.path.join(root, "synthetic-sod", "meta.json")
    meta = json.load(open(meta_path))
    meta["splits"]["train"]["md5"]["all_files"] = "0" * 32
    json.dump(meta, open(meta_path, "w"))
    assert verify_data.verify(root, SYNTHETIC, "quick", progress=False).checked == 1 + 8


def test_skip_and_off(root):
    named = damage_three(root)
    skip = {("synthetic-both", "train", "train_00003"), ("synthetic-sod", "train", "train_00005"),
            ("synthetic-fix", "train", named["missing_id"])}
    assert verify_data.verify(root, SYNTHETIC, "quick", progress=False, skip=skip).problems == []
    off = verify_data.verify(root, SYNTHETIC, "off")
    assert off.problems == [] and off.checked == 0
    missing = verify_data.missing_images(root, SYNTHETIC)
    assert [(p.dataset, p.id) for p in missing] == [("synthetic-fix", "train_00007")]


def test_cli(root, capsys):
    assert verify_data_cli.main(["--data", root, "--datasets", ",".join(SYNTHETIC), "--quiet"]) == 0
    junk(_path(root, "synthetic-both", "val", "images", "val_00001", ".jpg"))
    remove_entry(root, "synthetic-sod", "val", "val_00000")
    status = verify_data_cli.main(["--data", root, "--datasets", ",".join(SYNTHETIC), "--quiet",
                               "--mode", "full"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "2 problem(s)" in out
    assert "synthetic-both/val/images/val_00001.jpg: not a JPEG file" in err
    assert "synthetic-sod/val/list.txt: lists 'val_00000'" in err
    assert verify_data_cli.main(["--data", root, "--datasets", "nope", "--quiet"]) == 2
