"""ASNet's input pipeline: prepared layout → batches of (image, targets, sample weights).

Paper §3.3, docs/model.md §2–3. Reads only the prepared layout (docs/datasets.md §10) through
`asnet_keras.data.layout`; nothing here knows a raw dataset layout.

Every element is a triple in the order of the model's outputs (`model.output_names`):

    image    (batch, S, S, 3) float32, raw RGB 0–255 (the model does its own
             VGG preprocessing)
    targets  tuple, one per output:
             fixation        (batch, S/16, S/16, 1) float32 density ≥ 0 (max ≤ 1)
             fixation_conv4  (batch, S/8,  S/8,  1) the same at 28×28 (ASNet-28×28)
             saliency_convK  (batch, S/2^(K-1), S/2^(K-1), 1) float32 mask in {0, 1}
    weights  tuple, one (batch,) float32 per output: y_A for fixation outputs, y_S for
             saliency outputs (Eq. 13); exactly 0 where that label file is absent, in
             which case the target is all zeros.

Targets are resized from the original-resolution label files: each label is first
area-averaged to S×S (kept fractional), then, per output, area-averaged to that
output's side; masks are binarised at 0.5 only then, density maps stay non-negative
fractions (the KL of Eq. 1 normalises them). Images are decoded (`decode_rgb`) and
resized bilinearly with antialiasing to S×S (`input_pixels`; the paper's 224×224, aspect
ratio not kept) exactly as `predict` and evaluation do it.

Augmentation (training only; paper §3.3 "flipping, rotation"): a horizontal flip with
probability 1/2 and a rotation by an angle uniform in ±`ROTATION_DEGREES` (the paper
gives no range), applied at S×S to the image, the fractional mask and the density map
stacked as one tensor, so all stay aligned; pixels rotated in from outside the image
repeat the nearest edge pixel, for the image and its labels alike. (Rotating at S×S
rather than at the original resolution makes the pipeline about 5× faster on
SALICON-sized images; bilinear rotation and area resizing nearly commute.)

Mixing (paper §3.3: "batches of 10 … balanced"): the training stream draws each sample's
dataset at random with weights that give fixation-labelled and mask-labelled samples
equal shares (`source_weights`); within a dataset, samples come in reshuffled passes
without replacement. The whole sequence of (dataset, sample, augmentation seed) is a
pure function of the seed, planned in numpy up front, so a stream can start at any
step (resuming) and gives the same batches as an uninterrupted one.

Validation (docs/model.md §3 does not say which images): each dataset's `val` split if it
has one (for SALICON `val/list_holdout.txt` when present), otherwise a deterministic
hold-out of 5 % (at least one image) of its train list — the ids whose SHA-1 sorts
first — which is then excluded from training (`train_val_samples`).

Example:
    >>> train = training_dataset("data/prepared", ["salicon", "thus10k", "dut-omron"],
    ...                          model.output_names, input_size=224, batch_size=10)
    >>> image, targets, weights = next(iter(train))
"""

import dataclasses
import hashlib
import math

import numpy as np

from asnet_keras.data import layout
from asnet_keras.devices import tensorflow_for_data
from asnet_keras.model.options import PAPER_INPUT_SIZE
from asnet_keras.names import LIST_FILE

# tf.data under every Keras backend (Keras' fit takes a tf.data.Dataset under JAX and
# torch too); off the GPUs unless TensorFlow is the backend (docs/backends.md §3).
tf = tensorflow_for_data()

# Paper §3.3 names rotation as an augmentation but no range; "small" is read as ±10°.
ROTATION_DEGREES = 10.0
HOLDOUT_FRACTION = 0.05


# ----------------------------------------------------------------------------------
# Which files: train / validation samples per dataset


def holdout_ids(ids, fraction=HOLDOUT_FRACTION):
    """The deterministic validation hold-out of a train list: the max(1, round(f·n))
    ids whose SHA-1 hex digest sorts first (independent of list order). Returns a set."""
    if not ids:
        return set()
    count = max(1, int(round(fraction * len(ids))))
    ranked = sorted(ids, key=lambda i: hashlib.sha1(i.encode("utf-8")).hexdigest())
    return set(ranked[:count])


def train_val_samples(root, dataset, skip=(), allow_missing=False):
    """(train samples, validation samples, how the validation set was chosen) of a dataset.

    Validation: the `val` split (SALICON: `val/list_holdout.txt` if present), else the
    5 % hash hold-out of `train`, removed from the training samples. `skip`: (dataset,
    split, id) keys of samples a run skips; their image may be missing (any image may,
    with `allow_missing`: for finding which file of a batch failed).
    """
    allowed = {s: True if allow_missing else {k[2] for k in skip if k[0] == dataset and k[1] == s}
               for s in ("train", "val")}
    names = layout.splits(root, dataset)
    if "train" not in names:
        raise ValueError(
            f"{dataset} under {root} has no train split (it has {names or 'none'}); "
            f"pick training datasets that have one, or run "
            f"`{layout.prepare_command(dataset, root)}`."
        )
    train_ids = layout.read_ids(root, dataset, "train")
    if "val" in names:
        list_name = layout.validation_list(root, dataset)
        val_ids = layout.read_ids(root, dataset, "val", list_name)
        how = "val" if list_name == LIST_FILE else f"val/{list_name}"  # recorded in config.json
        val = layout.samples(root, dataset, "val", val_ids, allowed["val"])
        train = layout.samples(root, dataset, "train", train_ids, allowed["train"])
    else:
        held = holdout_ids(train_ids)
        val = layout.samples(root, dataset, "train", [i for i in train_ids if i in held],
                               allowed["train"])
        train = layout.samples(root, dataset, "train", [i for i in train_ids if i not in held],
                                 allowed["train"])
        how = f"5 % hold-out of train ({len(val)} images)"
    if not train:
        raise ValueError(f"{dataset} under {root}: no training images left.")
    return train, val, how


def label_kind(samples):
    """(has fixations, has masks) of a dataset: true if any of its samples has them."""
    return (
        any(s.fixmap is not None for s in samples),
        any(s.mask is not None for s in samples),
    )


def source_weights(kinds):
    """Sampling weights that balance fixation-labelled and mask-labelled samples.

    Args:
        kinds: list of (has_fixation, has_mask) per dataset.
    Returns:
        numpy float64 weights summing to 1. The three groups — fixation only, mask only,
        both — that are present share the probability equally, and datasets within a
        group share their group's share equally. With one dataset of each group (the
        paper's SALICON, THUS10K, DUT-OMRON) that is 1/3 each, so y_A = 1 and y_S = 1
        each occur with probability 2/3. A group with no dataset is left out.
    """
    groups = {}
    for index, kind in enumerate(kinds):
        groups.setdefault(tuple(kind), []).append(index)
    weights = np.zeros(len(kinds))
    for members in groups.values():
        for index in members:
            weights[index] = 1.0 / len(groups) / len(members)
    return weights / weights.sum()


def plan_stream(sizes, weights, count, seed, start=0):
    """The training stream's plan: which dataset and which sample, element by element.

    Args:
        sizes: number of training samples per dataset.
        weights: dataset sampling probabilities (`source_weights`).
        count: number of elements to plan after `start`.
        seed: integer seed; the plan depends only on (sizes, weights, seed).
        start: index of the first element returned (for resuming; elements before it
            are planned and dropped, so the result equals the tail of an unbroken plan).
    Returns:
        (source, index) int64 arrays of length `count`: dataset number and sample
        number within it. Each dataset's samples are drawn in reshuffled full passes.
    """
    rng = np.random.default_rng([seed, 7301])
    total = start + count
    source = rng.choice(len(sizes), size=total, p=np.asarray(weights, dtype=np.float64))
    index = np.zeros(total, dtype=np.int64)
    for s, n in enumerate(sizes):
        where = np.nonzero(source == s)[0]
        passes = math.ceil(len(where) / n) if len(where) else 0
        order_rng = np.random.default_rng([seed, 7302, s])
        order = np.concatenate([order_rng.permutation(n) for _ in range(passes)] or [[]])
        index[where] = order[: len(where)]
    return source[start:].astype(np.int64), index[start:]


# ----------------------------------------------------------------------------------
# Decoding, augmentation, targets (TensorFlow graph functions)


def target_sizes(output_names, input_size):
    """Spatial side of each output's target: fixation S/16, fixation_conv4 S/8,
    saliency_convK S/2^(K-1). dict name → int."""
    sizes = {}
    for name in output_names:
        if name == "fixation":
            sizes[name] = input_size // 16
        elif name == "fixation_conv4":
            sizes[name] = input_size // 8
        elif name.startswith("saliency_conv"):
            sizes[name] = input_size // 2 ** (int(name[len("saliency_conv"):]) - 1)
        else:
            raise ValueError(f"output {name!r}: no target defined for it in asnet_keras.data.")
    return sizes


def _read_label(path, has, size):
    """A 1-channel PNG as float32 in [0, 1], area-resized from its original resolution
    to (size, size, 1); zeros of that shape when the sample has no such label."""

    def read():
        label = tf.cast(tf.io.decode_png(tf.io.read_file(path), channels=1), tf.float32) / 255.0
        return tf.image.resize(label, (size, size), method="area")

    return tf.cond(has, read, lambda: tf.zeros((size, size, 1), tf.float32))


def _rotation_transform(angle, height, width):
    """The projective transform (8,) that rotates an image by `angle` about its centre."""
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    return tf.stack([
        cos, -sin, cx - cos * cx + sin * cy,
        sin, cos, cy - sin * cx - cos * cy,
        0.0, 0.0,
    ])


def augment(stack, seed, rotation_degrees=ROTATION_DEGREES):
    """Flip and rotate a stacked (H, W, C) float32 tensor with one set of parameters.

    Args:
        stack: image and label channels stacked, (H, W, C).
        seed: (2,) int seed for `tf.random.stateless_*`; the same seed gives the same
            flip and angle.
        rotation_degrees: angles are uniform in ±this (0 turns rotation off).
    Returns:
        (H, W, C) float32: flipped with probability 1/2, then rotated about the centre
        with bilinear interpolation, edges repeated.
    """
    flip = tf.random.stateless_uniform([], seed=seed) < 0.5
    stack = tf.cond(flip, lambda: tf.reverse(stack, axis=[1]), lambda: stack)
    if rotation_degrees <= 0:
        return stack
    limit = rotation_degrees * math.pi / 180.0
    angle = tf.random.stateless_uniform([], seed=seed + [0, 1], minval=-limit, maxval=limit)
    shape = tf.shape(stack)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    transform = _rotation_transform(angle, height, width)
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=stack[None],
        transforms=transform[None],
        output_shape=shape[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return rotated[0]


def decode_rgb(content):
    """An image file's bytes (a string tensor) → RGB uint8 (H, W, 3), as the network reads
    it in training: pixel for pixel what `asnet_keras.inference.images.read_image` (OpenCV)
    gives `predict` and evaluation for 8-bit files (`tests/data/test_one_resize.py`), and
    the prepared layout holds only 8-bit JPEGs.

    Grey is repeated to three channels, alpha dropped. JPEG is decoded with libjpeg's
    accurate integer IDCT, as OpenCV does: TensorFlow's default, the fast IDCT, differs by
    up to 5 grey levels (docs/model.md §3, "Resizing").
    """
    return tf.cond(
        tf.io.is_jpeg(content),
        lambda: tf.io.decode_jpeg(content, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(content, channels=3, expand_animations=False),
    )


def input_pixels(image, size):
    """RGB (H, W, 3) of any real dtype → float32 (size, size, 3), raw values 0–255: the
    model's input, for training and inference alike (`asnet_keras.inference.images.
    resize_to_input`). Bilinear with antialiasing, aspect ratio not kept, clipped to
    0–255 (docs/model.md §3, "Resizing")."""
    resized = tf.image.resize(
        tf.cast(image, tf.float32), (size, size), method="bilinear", antialias=True
    )
    return tf.clip_by_value(resized, 0.0, 255.0)


def make_loader(output_names, input_size, *, augment_seed=None, rotation_degrees=ROTATION_DEGREES):
    """A tf function (image path, mask path, fixmap path, has_mask, has_fix, element
    number) → (image, targets tuple, weights tuple) for one sample (no batch axis).

    `augment_seed` None: no augmentation (validation); an int: augmentation with
    per-element seeds (augment_seed, element number).
    """
    sizes = target_sizes(output_names, input_size)

    def load(image_path, mask_path, fix_path, has_mask, has_fix, element):
        image = input_pixels(decode_rgb(tf.io.read_file(image_path)), input_size)
        mask = _read_label(mask_path, has_mask, input_size)
        fixmap = _read_label(fix_path, has_fix, input_size)
        if augment_seed is not None:
            seed = tf.stack([tf.constant(augment_seed, tf.int64), tf.cast(element, tf.int64)])
            stack = augment(tf.concat([image, mask, fixmap], axis=-1), seed, rotation_degrees)
            image, mask, fixmap = stack[..., :3], stack[..., 3:4], stack[..., 4:5]
            image = tf.clip_by_value(image, 0.0, 255.0)
        y_a = tf.cast(has_fix, tf.float32)
        y_s = tf.cast(has_mask, tf.float32)
        targets, weights = [], []
        for name in output_names:
            side = sizes[name]
            if name.startswith("fixation"):
                density = tf.image.resize(fixmap, (side, side), method="area")
                targets.append(tf.maximum(density, 0.0))
                weights.append(y_a)
            else:
                area = tf.image.resize(mask, (side, side), method="area")
                targets.append(tf.cast(area >= 0.5, tf.float32))
                weights.append(y_s)
        return image, tuple(targets), tuple(weights)

    return load


def _sample_table(samples):
    """Parallel string/bool arrays of the samples' files."""
    return (
        np.array([s.image for s in samples], dtype=object),
        np.array([s.mask or "" for s in samples], dtype=object),
        np.array([s.fixmap or "" for s in samples], dtype=object),
        np.array([s.mask is not None for s in samples]),
        np.array([s.fixmap is not None for s in samples]),
    )


def _set_options(dataset, deterministic=True):
    options = tf.data.Options()
    options.deterministic = deterministic
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


# ----------------------------------------------------------------------------------
# Public pipelines


def training_samples(root, datasets, skip=(), allow_missing=False):
    """Per dataset: (train samples, validation samples, how validation was chosen).
    Raises ValueError naming every dataset not prepared under root. `skip`: keys of
    skipped samples (`stand_ins`), whose image may be missing."""
    layout.check_prepared(root, datasets)
    return {name: train_val_samples(root, name, skip, allow_missing) for name in datasets}


def sample_key(sample):
    """(dataset, split, id): how a run names a sample it skips."""
    return (sample.dataset, sample.split, sample.id)


def stand_ins(samples, skip):
    """`samples` with each skipped one (key in `skip`) replaced by a stand-in that keeps
    its dataset, split and id but has no labels — so all its loss weights are 0 and it
    adds nothing to the loss — and reads the image of the first sample of the list that
    is not skipped (so batch-norm statistics still see a real image). The list keeps its
    length, so the planned stream (`plan_stream`) is the same with or without skips
    (docs/data_integrity.md §3)."""
    if not skip:
        return list(samples)
    good = [s for s in samples if sample_key(s) not in skip]
    if not good:
        raise ValueError(
            f"every training sample of {samples[0].dataset} is skipped as unreadable; "
            "repair the dataset (see the messages above) before training on it."
        )
    stand_in = good[0].image
    return [
        s if sample_key(s) not in skip
        else dataclasses.replace(s, image=stand_in, mask=None, fixpts=None, fixmap=None)
        for s in samples
    ]


def _training_stream(root, datasets, batch_size, seed, start_step, steps, skip,
                     allow_missing=False):
    """(samples, flat): the training samples of all datasets in one list (skipped ones
    replaced by stand-ins) and, per planned element, its index in that list."""
    per_dataset = training_samples(root, datasets, skip, allow_missing)
    sources = [per_dataset[name][0] for name in datasets]
    weights = source_weights([label_kind(s) for s in sources])
    source, index = plan_stream(
        [len(s) for s in sources], weights, steps * batch_size, seed, start=start_step * batch_size
    )
    offsets = np.cumsum([0] + [len(s) for s in sources])[:-1]
    flat = (offsets[source] + index).astype(np.int64)
    return [sample for s in sources for sample in stand_ins(s, skip)], flat


def planned_batch(root, datasets, batch_size, seed, step, skip=()):
    """The samples of training batch `step` (0-based) as `training_dataset` with these
    arguments reads them (stand-ins for skipped samples), in batch order. A listed
    image that is missing is returned with its path (it is what failed)."""
    samples, flat = _training_stream(root, datasets, batch_size, seed, step, 1, skip,
                                     allow_missing=True)
    return [samples[i] for i in flat]


def training_dataset(
    root,
    datasets,
    output_names,
    input_size=PAPER_INPUT_SIZE,
    batch_size=10,
    *,
    seed=0,
    augment_data=True,
    rotation_degrees=ROTATION_DEGREES,
    start_step=0,
    steps=None,
    num_parallel_calls=tf.data.AUTOTUNE,
    prefetch=tf.data.AUTOTUNE,
    skip=(),
):
    """The training stream: balanced, augmented batches (paper §3.3).

    Args:
        root: prepared data root.
        datasets: dataset names (the paper: salicon, thus10k, dut-omron).
        output_names: the model's output names, in order (sets the targets).
        input_size: S, the side of the square input (the paper: 224).
        batch_size: images per batch (global batch under tf.distribute; the paper: 10).
        seed: integer; the stream (choice of samples and augmentation) depends only on it.
        augment_data: flip and rotate (False: resize only).
        rotation_degrees: rotation range ±degrees.
        start_step: first batch of the stream (for resuming: the stream from
            `start_step` equals the tail of the stream from 0).
        steps: number of batches planned after `start_step` (default 100 000; the
            trainer passes exactly what the run still needs).
        num_parallel_calls, prefetch: tf.data parallelism (AUTOTUNE by default).
        skip: (dataset, split, id) keys of samples to leave out: each is replaced by a
            zero-weight stand-in (`stand_ins`), so the stream keeps its plan.
    Returns:
        `tf.data.Dataset` of (image, targets, weights), shapes in the module docstring,
        batch axis exactly `batch_size`.
    """
    steps = 100_000 if steps is None else int(steps)
    samples, flat = _training_stream(root, datasets, batch_size, seed, start_step, steps, skip)
    element = np.arange(start_step * batch_size, (start_step + steps) * batch_size, dtype=np.int64)
    table = _sample_table(samples)
    columns = [tf.constant(c.astype(str)) for c in table[:3]]
    columns += [tf.constant(c) for c in table[3:]]
    ds = tf.data.Dataset.from_tensor_slices((flat, element))
    ds = ds.map(lambda i, e: tuple(tf.gather(c, i) for c in columns) + (e,))
    loader = make_loader(
        output_names, input_size,
        augment_seed=seed if augment_data else None, rotation_degrees=rotation_degrees,
    )
    ds = ds.map(loader, num_parallel_calls=num_parallel_calls, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return _set_options(ds.prefetch(prefetch))


def validation_samples(root, datasets, skip=(), allow_missing=False):
    """The validation samples of all `datasets`, concatenated in dataset order, without
    the skipped ones (keys in `skip`)."""
    per_dataset = training_samples(root, datasets, skip, allow_missing)
    return [s for name in datasets for s in per_dataset[name][1] if sample_key(s) not in skip]


def validation_dataset(
    root,
    datasets,
    output_names,
    input_size=PAPER_INPUT_SIZE,
    batch_size=10,
    *,
    pad_to_batch=False,
    num_parallel_calls=tf.data.AUTOTUNE,
    skip=(),
):
    """The validation set of `datasets`, without augmentation, in a fixed order.

    Args:
        pad_to_batch: False: the last batch may be smaller. True: the set is padded to a
            multiple of `batch_size` with blank samples whose weights are all 0, and each
            element gets a fourth member, `valid` (batch,) float32 (1 real, 0 padding), so
            every batch is full (what tf.distribute's replicas need). Weighted losses are
            unchanged; divide their sums by Σ valid.
        skip: (dataset, split, id) keys of validation samples to leave out.
    Returns:
        `tf.data.Dataset` of (image, targets, weights[, valid]).
    """
    samples = validation_samples(root, datasets, skip)
    if not samples:
        raise ValueError(f"no validation images in {datasets} under {root}.")
    table = _sample_table(samples)
    n = len(samples)
    ds = tf.data.Dataset.from_tensor_slices((
        table[0].astype(str), table[1].astype(str), table[2].astype(str),
        table[3], table[4], np.arange(n, dtype=np.int64),
    ))
    loader = make_loader(output_names, input_size)
    ds = ds.map(loader, num_parallel_calls=num_parallel_calls, deterministic=True)
    if pad_to_batch:
        ds = ds.map(lambda image, targets, weights: (image, targets, weights, tf.constant(1.0)))
        pad = (-n) % batch_size
        if pad:
            blank = ds.take(1).map(
                lambda image, targets, weights, valid: (
                    tf.zeros_like(image),
                    tuple(tf.zeros_like(t) for t in targets),
                    tuple(tf.zeros_like(w) for w in weights),
                    tf.constant(0.0),
                )
            ).cache().repeat(pad)
            ds = ds.concatenate(blank)
        ds = ds.batch(batch_size, drop_remainder=True)
    else:
        ds = ds.batch(batch_size)
    return _set_options(ds.prefetch(tf.data.AUTOTUNE))


def count_images(root, datasets, skip=()):
    """(training images, validation images) over `datasets` (after hold-outs; skipped
    samples included: they keep their place in the plan)."""
    per_dataset = training_samples(root, datasets, skip)
    return (
        sum(len(v[0]) for v in per_dataset.values()),
        sum(len(v[1]) for v in per_dataset.values()),
    )
