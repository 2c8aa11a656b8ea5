"""Reading the prepared layout (`asnet_keras.data.layout`, docs/datasets.md §10) on a small
tree written by hand: splits, ids, samples with the labels they have, fixations, meta.json,
and the messages that say which command prepares what is missing."""

import json
import os

import numpy as np
import pytest

from asnet_keras.data import layout


@pytest.fixture
def root(tmp_path):
    """ds/train: ids a, b, c (c's image missing; a has a mask, b fixations); ds/val: v;
    ds/test has no list.txt; other/ is empty."""
    base = tmp_path / "ds"
    for split, ids in (("train", ["a", "b", "c"]), ("val", ["v"])):
        (base / split / "images").mkdir(parents=True)
        (base / split / "list.txt").write_text("".join(f"{i}\n" for i in ids) + "\n  \n")
        for i in ids:
            if i != "c":
                (base / split / "images" / f"{i}.jpg").write_bytes(b"jpeg")
    for folder, i in (("masks", "a"), ("fixpts", "b"), ("fixmaps", "b")):
        (base / "train" / folder).mkdir()
        (base / "train" / folder / f"{i}.png").write_bytes(b"png")
    (base / "train" / "masks" / "b.jpg").write_bytes(b"a mask with the wrong suffix")
    (base / "train" / "list_holdout.txt").write_text("b\n")
    (base / "test").mkdir()
    (tmp_path / "other").mkdir()
    return tmp_path


def test_splits_and_ids(root):
    assert layout.splits(root, "ds") == ["train", "val"]
    assert layout.splits(root, "other") == [] and layout.splits(root, "absent") == []
    assert layout.read_ids(root, "ds", "train") == ["a", "b", "c"]
    assert layout.read_ids(str(root), "ds", "train", "list_holdout.txt") == ["b"]
    assert layout.split_dir(root, "ds", "val") == os.path.join(str(root), "ds", "val")


def test_samples_name_each_label_file_that_exists(root):
    base = os.path.join(str(root), "ds", "train")
    a, b = layout.samples(root, "ds", "train", ids=["a", "b"])
    assert a == layout.PreparedSample("ds", "train", "a", os.path.join(base, "images", "a.jpg"),
                                      os.path.join(base, "masks", "a.png"), None, None)
    assert b == layout.PreparedSample("ds", "train", "b", os.path.join(base, "images", "b.jpg"),
                                      None, os.path.join(base, "fixpts", "b.png"),
                                      os.path.join(base, "fixmaps", "b.png"))
    (v,) = layout.samples(root, "ds", "val")
    assert (v.id, v.mask, v.fixpts, v.fixmap) == ("v", None, None, None)


def test_a_listed_image_that_is_missing_is_named_unless_allowed(root):
    with pytest.raises(ValueError) as error:
        layout.samples(root, "ds", "train")
    message = str(error.value)
    assert os.path.join(str(root), "ds", "train", "images", "c.jpg") in message
    assert f"`asnet prepare ds --src RAW_DIR --dst {root}`" in message
    for allowed in (True, {"c"}, ("c",)):
        samples = layout.samples(root, "ds", "train", allow_missing=allowed)
        assert [s.id for s in samples] == ["a", "b", "c"]
        assert samples[2].image.endswith(os.path.join("images", "c.jpg"))
    with pytest.raises(ValueError, match="c.jpg"):
        layout.samples(root, "ds", "train", allow_missing={"a"})


def test_check_prepared_names_every_missing_dataset_and_its_command(root):
    layout.check_prepared(root, ["ds"])
    layout.check_prepared(root, ["ds"], split="val")
    with pytest.raises(ValueError) as error:
        layout.check_prepared(root, ["ds", "other", "synthetic-sod", "ecssd"], split=None)
    assert str(error.value).splitlines() == [
        f"Prepared data missing under {root} for: other, synthetic-sod, ecssd.",
        f"  other: run `asnet prepare other --src RAW_DIR --dst {root}`",
        f"  synthetic-sod: run `asnet prepare synthetic --dst {root}`",
        f"  ecssd: run `asnet prepare ecssd --src RAW_DIR --dst {root}`",
        "(`asnet prepare all --src RAW_ROOT --dst ROOT` prepares every dataset found "
        "under RAW_ROOT; see data_prep/README.md for downloads.)",
    ]
    with pytest.raises(ValueError, match=r"under .* \(split 'test'\) for: ds\."):
        layout.check_prepared(root, ["ds"], split="test")


def test_fixations_and_meta(root):
    assert layout.load_fixations(root, "ds", "train") is None
    arrays = {"ids": np.array(["b"]), "x": np.array([1.5, 2.0]), "image_index": np.array([0, 0])}
    np.savez(os.path.join(str(root), "ds", "train", "fixations.npz"), **arrays)
    loaded = layout.load_fixations(root, "ds", "train")
    assert sorted(loaded) == ["ids", "image_index", "x"]
    assert loaded["x"].tolist() == [1.5, 2.0] and loaded["ids"].tolist() == ["b"]
    assert layout.read_meta(root, "ds") == {}
    (root / "ds" / "meta.json").write_text(json.dumps({"edition": "2017"}), encoding="utf-8")
    assert layout.read_meta(str(root), "ds") == {"edition": "2017"}


def test_constants_of_the_layout():
    assert layout.SUFFIXES == {"images": ".jpg", "masks": ".png", "fixpts": ".png",
                               "fixmaps": ".png"}
    assert layout.prepare_command("synthetic-both", "/d") == "asnet prepare synthetic --dst /d"


def test_fixations_holding_pickled_objects_are_refused(root):
    """A fixations.npz is data, never code: object arrays (pickles) are not loaded."""
    path = os.path.join(str(root), "ds", "train", "fixations.npz")
    np.savez(path, ids=np.array([{"not": "data"}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        layout.load_fixations(root, "ds", "train")
