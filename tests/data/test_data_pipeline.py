"""The training input pipeline `asnet_keras.data` (docs/model.md §3): targets, sample
weights, joint augmentation, balance, hold-out and resumable streams."""

import os
import shutil

import cv2
import numpy as np
import pytest
import tensorflow as tf

from asnet_keras.data import layout as prepared
from asnet_keras.data import pipeline as data
from asnet_keras.names import SYNTHETIC_DATASETS
from data_prep.synthetic import make_synthetic

SYNTHETIC = list(SYNTHETIC_DATASETS)
OUTPUTS = [
    "fixation", "saliency_conv5", "saliency_conv4", "saliency_conv3",
    "saliency_conv2", "saliency_conv1", "fixation_conv4",
]
SIZE = 32


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("prepared")
    make_synthetic(path, n=8, size=48)
    return str(path)


def test_targets_shapes_dtypes_and_ranges(root):
    ds = data.training_dataset(root, SYNTHETIC, OUTPUTS, SIZE, 4, seed=3, steps=3)
    sides = {"fixation": 2, "saliency_conv5": 2, "saliency_conv4": 4, "saliency_conv3": 8,
             "saliency_conv2": 16, "saliency_conv1": 32, "fixation_conv4": 4}
    batches = list(ds)
    assert len(batches) == 3
    for image, targets, weights in batches:
        assert image.shape == (4, SIZE, SIZE, 3) and image.dtype == tf.float32
        assert 0.0 <= float(tf.reduce_min(image)) and float(tf.reduce_max(image)) <= 255.0
        assert float(tf.reduce_max(image)) > 100.0  # raw pixels, not scaled to [0, 1]
        assert len(targets) == len(weights) == len(OUTPUTS)
        for name, target, weight in zip(OUTPUTS, targets, weights, strict=True):
            assert target.shape == (4, sides[name], sides[name], 1), name
            assert target.dtype == tf.float32 and weight.dtype == tf.float32
            assert weight.shape == (4,)
            assert set(np.unique(weight.numpy())) <= {0.0, 1.0}
            values = target.numpy()
            if name.startswith("saliency"):
                assert set(np.unique(values)) <= {0.0, 1.0}, name  # binarised masks
            else:
                assert values.min() >= 0.0 and values.max() <= 1.0, name
            # A sample with the label has a non-empty target; one without, all zeros.
            per_sample = values.reshape(4, -1).max(axis=1)
            assert np.all(per_sample[weight.numpy() == 0] == 0), name
        # Saliency outputs share y_S, fixation outputs share y_A.
        y_a, y_s = weights[0].numpy(), weights[1].numpy()
        np.testing.assert_array_equal(weights[6].numpy(), y_a)
        for k in range(2, 6):
            np.testing.assert_array_equal(weights[k].numpy(), y_s)
        assert np.all(targets[5].numpy().reshape(4, -1).max(1)[y_s == 1] == 1)
        assert np.all(targets[0].numpy().reshape(4, -1).sum(1)[y_a == 1] > 0)


def test_missing_labels_give_zero_weight_and_zero_targets(root):
    names = ["fixation", "saliency_conv1"]
    sod = list(data.validation_dataset(root, ["synthetic-sod"], names, SIZE, 8))[0]
    _, (fix, mask), (y_a, y_s) = sod
    assert np.all(y_a.numpy() == 0) and np.all(y_s.numpy() == 1)
    assert np.all(fix.numpy() == 0) and mask.numpy().max() == 1
    fixonly = list(data.validation_dataset(root, ["synthetic-fix"], names, SIZE, 8))[0]
    _, (fix, mask), (y_a, y_s) = fixonly
    assert np.all(y_a.numpy() == 1) and np.all(y_s.numpy() == 0)
    assert np.all(mask.numpy() == 0) and fix.numpy().max() > 0


def _write_disk_dataset(root, count=4, size=(60, 80)):
    """A prepared dataset whose mask is exactly the red disk drawn in the image."""
    split = os.path.join(root, "disks", "train")
    for folder in ("images", "masks"):
        os.makedirs(os.path.join(split, folder), exist_ok=True)
    rng = np.random.default_rng(0)
    ids = []
    for i in range(count):
        h, w = size
        image = rng.uniform(60, 120, (h, w, 3)).astype(np.uint8)
        mask = np.zeros((h, w), np.uint8)
        # Off-centre, so that a flip or a rotation moves it.
        cv2.circle(mask, (int(w * 0.25) + 3 * i, int(h * 0.3)), 12, 255, -1)
        image[mask > 0] = (0, 0, 240)  # BGR: red
        sample_id = f"{i:03d}"
        cv2.imwrite(os.path.join(split, "images", sample_id + ".jpg"), image,
                    [cv2.IMWRITE_JPEG_QUALITY, 98])
        cv2.imwrite(os.path.join(split, "masks", sample_id + ".png"), mask)
        ids.append(sample_id)
    with open(os.path.join(split, "list.txt"), "w") as f:
        f.write("\n".join(ids) + "\n")
    return prepared.samples(root, "disks", "train")


def test_augmented_image_and_mask_stay_aligned(tmp_path):
    samples = _write_disk_dataset(str(tmp_path))
    size = 64
    plain = data.make_loader(["saliency_conv1"], size)
    augmented = data.make_loader(["saliency_conv1"], size, augment_seed=5, rotation_degrees=10.0)
    moved = 0
    for element in range(12):
        sample = samples[element % len(samples)]
        args = (sample.image, sample.mask, "", True, False, tf.constant(element, tf.int64))
        image, (mask,), _ = augmented(*args)
        _, (mask0,), _ = plain(*args)
        image, mask = image.numpy(), mask.numpy()[..., 0]
        drawn = (image[..., 0] > 170) & (image[..., 1] < 90)  # the red disk, from pixels
        iou = np.logical_and(drawn, mask > 0).sum() / np.logical_or(drawn, mask > 0).sum()
        assert iou > 0.85, (element, iou)
        if np.logical_xor(mask > 0, mask0.numpy()[..., 0] > 0).sum() > 20:
            moved += 1
    assert moved >= 6  # the augmentation really flipped / rotated most samples


def test_fixation_mask_mix_is_balanced(root):
    ds = data.training_dataset(
        root, SYNTHETIC, ["fixation", "saliency_conv5"], SIZE, 10, steps=300, augment_data=False
    )
    weights = ds.map(lambda image, targets, weights: weights)
    y_a = y_s = 0.0
    sources = np.zeros(2)
    for w_fix, w_sal in weights:
        y_a += float(tf.reduce_sum(w_fix))
        y_s += float(tf.reduce_sum(w_sal))
        sources += [float(tf.reduce_sum(w_fix * w_sal)), 10.0]
    assert abs(y_a - y_s) / max(y_a, y_s) < 0.10, (y_a, y_s)
    # Each of the three datasets ~1/3 of the stream: doubly labelled ~1/3 of samples.
    assert abs(sources[0] / sources[1] - 1 / 3) < 0.05


def test_source_weights_balance_groups():
    np.testing.assert_allclose(
        data.source_weights([(True, False), (False, True), (True, True)]), [1 / 3] * 3
    )
    # Two mask-only datasets share the mask-only third.
    np.testing.assert_allclose(
        data.source_weights([(True, False), (False, True), (False, True)]), [0.5, 0.25, 0.25]
    )


def test_stream_resumes_at_any_step(root):
    full = list(data.training_dataset(root, SYNTHETIC, ["fixation", "saliency_conv1"], SIZE, 4,
                                      seed=11, steps=5))
    tail = list(data.training_dataset(root, SYNTHETIC, ["fixation", "saliency_conv1"], SIZE, 4,
                                      seed=11, start_step=3, steps=2))
    for (a, ta, wa), (b, tb, wb) in zip(full[3:], tail, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(ta[1].numpy(), tb[1].numpy())
        np.testing.assert_array_equal(wa[0].numpy(), wb[0].numpy())
    other = list(data.training_dataset(root, SYNTHETIC, ["fixation"], SIZE, 4, seed=12, steps=1))
    assert not np.array_equal(other[0][0].numpy(), full[0][0].numpy())


def test_validation_uses_val_split_or_a_hash_holdout(root, tmp_path):
    train, val, how = data.train_val_samples(root, "synthetic-sod")
    assert how == "val" and len(val) == 2 and len(train) == 8
    # A dataset without val: 5 % hold-out (at least one image), excluded from training.
    shutil.copytree(os.path.join(root, "synthetic-sod"), tmp_path / "nosplit")
    shutil.rmtree(tmp_path / "nosplit" / "val")
    train, val, how = data.train_val_samples(str(tmp_path), "nosplit")
    assert len(val) == 1 and len(train) == 7 and "hold-out" in how
    assert not {s.id for s in val} & {s.id for s in train}
    ids = [f"{i:05d}" for i in range(200)]
    held = data.holdout_ids(ids)
    assert len(held) == 10 and held == data.holdout_ids(list(reversed(ids)))


def test_validation_padding_keeps_every_batch_full(root):
    batches = list(data.validation_dataset(root, SYNTHETIC, ["fixation", "saliency_conv1"],
                                           SIZE, 4, pad_to_batch=True))
    valid = np.concatenate([b[3].numpy() for b in batches])
    assert len(batches) == 2 and valid.tolist() == [1.0] * 6 + [0.0] * 2
    padding_weights = np.concatenate([w.numpy()[valid[4:] == 0] for w in batches[1][2]])
    assert np.all(padding_weights == 0)


def test_missing_dataset_is_named_with_the_command(root):
    with pytest.raises(ValueError, match="salicon: run `asnet prepare salicon"):
        data.training_samples(root, ["salicon", "synthetic-fix"])
