"""The synthetic dataset: deterministic, the prepared layout, exact 0/255 masks, and
fixations concentrated on the salient object."""

import json
import time

import cv2
import numpy as np
import pytest

from asnet_keras.commands.prepare import main
from data_prep.synthetic import make_synthetic
from tests.support.helpers import file_contents as files


@pytest.fixture(scope="module")
def syn(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    make_synthetic(root, n=10, size=64, seed=3, n_test=4)
    return root


def test_layout_splits_and_labels_per_source(syn):
    expect = {"synthetic-fix": ({"train": 10, "val": 2}, {"fixpts", "fixmaps"}),
              "synthetic-sod": ({"train": 10, "val": 2}, {"masks"}),
              "synthetic-both": ({"train": 10, "val": 2, "test": 4}, {"masks", "fixpts", "fixmaps"})}
    for name, (splits, labels) in expect.items():
        meta = json.loads((syn / name / "meta.json").read_text())
        assert sorted(meta["splits"]) == sorted(splits)
        for split, n in splits.items():
            d = syn / name / split
            ids = (d / "list.txt").read_text().split()
            assert ids == sorted(ids) and len(ids) == n and ids[0] == f"{split}_00000"
            present = {s for s in ("masks", "fixpts", "fixmaps") if (d / s).is_dir()}
            assert present == labels
            assert (d / "fixations.npz").is_file() == ("fixpts" in labels)
            for i in ids:
                img = cv2.imread(str(d / "images" / f"{i}.jpg"), cv2.IMREAD_UNCHANGED)
                h, w = img.shape[:2]
                assert img.shape[2] == 3 and max(h, w) == 64 and 0.75 * 64 - 1 <= min(h, w) <= 64
                for s in labels:
                    assert cv2.imread(str(d / s / f"{i}.png"), cv2.IMREAD_UNCHANGED).shape == (h, w)


def test_both_orientations_occur(syn):
    shapes = [cv2.imread(str(p)).shape[:2] for p in (syn / "synthetic-both/train/images").iterdir()]
    assert any(h > w for h, w in shapes) and any(w > h for h, w in shapes)


def test_masks_are_exactly_0_and_255(syn):
    for name in ("synthetic-sod", "synthetic-both"):
        for p in (syn / name / "train" / "masks").iterdir():
            m = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            assert m.ndim == 2 and set(np.unique(m).tolist()) == {0, 255}


def test_fixation_density_inside_object_is_several_times_outside(syn):
    d = syn / "synthetic-both" / "train"
    with np.load(d / "fixations.npz") as z:
        ids, idx, x, y = z["ids"], z["image_index"], z["x"], z["y"]
        assert z["subject"].min() == 0 and z["subject"].max() == 5
    inside = outside = area_in = area_out = 0
    for k, i in enumerate(ids):
        m = cv2.imread(str(d / "masks" / f"{i}.png"), cv2.IMREAD_UNCHANGED) > 0
        sel = idx == k
        hit = m[np.floor(y[sel] + 0.5).astype(int), np.floor(x[sel] + 0.5).astype(int)]
        inside += hit.sum()
        outside += (~hit).sum()
        area_in += m.sum()
        area_out += (~m).sum()
    ratio = (inside / area_in) / (outside / area_out)
    assert ratio > 5, ratio
    # and the fixpts agree with the table
    fp = cv2.imread(str(d / "fixpts" / f"{ids[0]}.png"), cv2.IMREAD_UNCHANGED)
    sel = idx == 0
    rows, cols = np.floor(y[sel] + 0.5).astype(int), np.floor(x[sel] + 0.5).astype(int)
    expect = set(zip(rows, cols, strict=True))
    assert set(zip(*np.nonzero(fp), strict=True)) == expect


def test_same_seed_same_bytes_other_seed_differs(syn, tmp_path):
    make_synthetic(tmp_path / "a", n=10, size=64, seed=3, n_test=4)
    assert files(tmp_path / "a") == files(syn)
    make_synthetic(tmp_path / "b", n=10, size=64, seed=4, n_test=4)
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert a.keys() == b.keys()
    first = "synthetic-both/train/images/train_00000.jpg"
    assert a[first] != b[first]


def test_image_depends_only_on_its_seed_index(tmp_path):
    make_synthetic(tmp_path / "small", n=3, size=48, seed=0)
    make_synthetic(tmp_path / "large", n=6, size=48, seed=0)
    for rel in ("synthetic-sod/train/images/train_00002.jpg",
                "synthetic-both/train/masks/train_00001.png"):
        assert (tmp_path / "small" / rel).read_bytes() == (tmp_path / "large" / rel).read_bytes()


def test_cli_defaults_and_speed(tmp_path):
    t0 = time.process_time()
    assert main(["synthetic", "--dst", str(tmp_path), "--n", "40", "--size", "96", "-q"]) == 0
    assert time.process_time() - t0 < 5.0
    meta = json.loads((tmp_path / "synthetic-both/meta.json").read_text())
    assert meta["source"] == {"generator": "data_prep.synthetic", "n": 40, "n_test": 40,
                              "size": 96, "seed": 0}
    assert meta["splits"]["val"]["images"] == 8 and meta["splits"]["test"]["images"] == 40
    assert meta["density"]["name"] == "fc8-fourier"
