"""docs/released_model.md transcribed for the tests, independently of `asnet_keras.model.released`.

`LAYERS` is the §1.1 table as widths; shapes and parameter counts are derived here from
the widths, so the tests check the model against the document, not against itself.
`KERAS2_LAYER_NAMES` is §5.3's list of the 75 layer names of a fresh Keras 2 build.
`write_keras2_file` writes an HDF5 file structured as Keras 2 writes one (§5.1, §5.2).
"""

import json

import h5py
import numpy as np

# §1.1, in creation order: (name, class, widths).
#   Conv2D: (k, cin, cout); ConvLSTM2D: (cin, F); BatchNormalization: (C,); LearningPrior: (n,)
LAYERS = [
    ("block1_conv1", "Conv2D", (3, 3, 64)),
    ("block1_conv2", "Conv2D", (3, 64, 64)),
    ("block2_conv1", "Conv2D", (3, 64, 128)),
    ("block2_conv2", "Conv2D", (3, 128, 128)),
    ("block3_conv1", "Conv2D", (3, 128, 256)),
    ("block3_conv2", "Conv2D", (3, 256, 256)),
    ("block3_conv3", "Conv2D", (3, 256, 256)),
    ("block4_conv1", "Conv2D", (3, 256, 512)),
    ("block4_conv2", "Conv2D", (3, 512, 512)),
    ("block4_conv3", "Conv2D", (3, 512, 512)),
    ("block5_conv1", "Conv2D", (3, 512, 512)),
    ("block5_conv2", "Conv2D", (3, 512, 512)),
    ("block5_conv3", "Conv2D", (3, 512, 512)),
    ("s_conv_5", "Conv2D", (3, 512, 64)),
    ("s_saliency_conv_5", "Conv2D", (1, 64, 1)),
    ("conv5_lstm1", "ConvLSTM2D", (512, 512)),
    ("learning_prior_1", "LearningPrior", (16,)),
    ("merge_att_conv5", "Conv2D", (3, 528, 64)),
    ("att_conv5", "Conv2D", (1, 64, 1)),
    ("conv5_lstm2", "ConvLSTM2D", (65, 64)),
    ("sal_conv5", "Conv2D", (1, 64, 1)),
    ("conv_4_out", "Conv2D", (1, 512, 64)),
    ("batch_normalization_1", "BatchNormalization", (64,)),
    ("conv4_lstm2", "ConvLSTM2D", (65, 64)),
    ("sal_conv4", "Conv2D", (1, 64, 1)),
    ("conv_3_out", "Conv2D", (1, 256, 64)),
    ("batch_normalization_2", "BatchNormalization", (64,)),
    ("conv3_lstm", "ConvLSTM2D", (65, 64)),
    ("sal_conv3", "Conv2D", (1, 64, 1)),
    ("conv_2_out", "Conv2D", (1, 128, 64)),
    ("batch_normalization_3", "BatchNormalization", (64,)),
    ("conv2_lstm", "ConvLSTM2D", (65, 64)),
    ("sal_conv2", "Conv2D", (1, 64, 1)),
    ("conv_1_out", "Conv2D", (1, 64, 32)),
    ("batch_normalization_4", "BatchNormalization", (32,)),
    ("conv1_lstm", "ConvLSTM2D", (33, 32)),
    ("sal_conv1", "Conv2D", (1, 32, 1)),
]

# §5.3: the 75 names of a fresh Keras 2 build, in `layer_names` order.
KERAS2_LAYER_NAMES = """
input_1 block1_conv1 block1_conv2 block1_pool block2_conv1 block2_conv2 block2_pool
block3_conv1 block3_conv2 block3_conv3 block3_pool block4_conv1 block4_conv2
block4_conv3 block4_pool block5_conv1 block5_conv2 block5_conv3 flatten_1
repeat_vector_1 reshape_1 input_2 conv5_lstm1 learning_prior_1 concatenate_1
merge_att_conv5 att_conv5 s_conv_5 concatenate_2 flatten_2 repeat_vector_2 reshape_2
conv5_lstm2 conv_4_out sal_conv5 batch_normalization_1 activation_1 up_sampling2d_1
concatenate_3 flatten_3 repeat_vector_3 reshape_3 conv4_lstm2 conv_3_out sal_conv4
batch_normalization_2 activation_2 up_sampling2d_2 concatenate_4 flatten_4
repeat_vector_4 reshape_4 conv3_lstm conv_2_out sal_conv3 batch_normalization_3
activation_3 up_sampling2d_3 concatenate_5 flatten_5 repeat_vector_5 reshape_5
conv2_lstm conv_1_out sal_conv2 batch_normalization_4 activation_4 up_sampling2d_4
concatenate_6 flatten_6 repeat_vector_6 reshape_6 conv1_lstm s_saliency_conv_5 sal_conv1
""".split()

TABLE_TOTAL = 35_516_167  # §6, for a cross-check of the derivation below
TABLE_NON_TRAINABLE = 448  # §6: BN moving means and variances


def weight_specs(kind, widths):
    """[(suffix, shape)] of one layer, in Keras 2's storage order (§1.2)."""
    if kind == "Conv2D":
        k, cin, cout = widths
        return [("kernel", (k, k, cin, cout)), ("bias", (cout,))]
    if kind == "ConvLSTM2D":
        cin, filters = widths
        return [
            ("kernel", (3, 3, cin, 4 * filters)),
            ("recurrent_kernel", (3, 3, filters, 4 * filters)),
            ("bias", (4 * filters,)),
        ]
    if kind == "BatchNormalization":
        (channels,) = widths
        return [(s, (channels,)) for s in ("gamma", "beta", "moving_mean", "moving_variance")]
    if kind == "LearningPrior":
        (n,) = widths
        return [("W", (4 * n,))]
    raise ValueError(kind)


def layer_params(kind, widths):
    """Parameter count of one layer from its widths (§1.1 `params` column)."""
    if kind == "Conv2D":
        k, cin, cout = widths
        return k * k * cin * cout + cout
    if kind == "ConvLSTM2D":
        cin, filters = widths
        return 9 * cin * 4 * filters + 9 * filters * 4 * filters + 4 * filters
    if kind == "BatchNormalization":
        return 4 * widths[0]
    if kind == "LearningPrior":
        return 4 * widths[0]
    raise ValueError(kind)


def random_arrays(seed=0, scale=0.1):
    """{layer name: [arrays]} filled with random float32 values (BN variances positive)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, kind, widths in LAYERS:
        layer = []
        for suffix, shape in weight_specs(kind, widths):
            values = rng.normal(0.0, scale, size=shape).astype(np.float32)
            if suffix == "moving_variance":
                values = np.abs(values) + np.float32(0.5)
            if suffix == "W":
                values = rng.uniform(0.0, 1.0, size=shape).astype(np.float32)
            layer.append(values)
        arrays[name] = layer
    return arrays


def _weight_name(layer, suffix):
    if suffix == "W":
        return f"{layer}/{layer}_W:0"
    return f"{layer}/{suffix}:0"


def write_keras2_file(
    path,
    arrays,
    *,
    layout="weights",
    rename=None,
    drop=(),
    backend="tensorflow",
    keras_version="2.1.2",
    override=None,
):
    """Write `arrays` ({our name: [arrays]}) as a Keras 2 HDF5 file.

    layout "weights": `save_weights` (§5.1); "model": `save` with an optimizer (§5.2).
    `rename` maps our layer name → the name used in the file (group, layer_names and the
    weight-name scope); layers in `drop` are left out of the file entirely. With
    `arrays=None` every dataset is created without data (h5py then reads zeros): a valid
    file of the right shapes at almost no write cost; `override` ({name: [arrays]})
    replaces single layers' arrays.
    """
    rename = dict(rename or {})
    kinds = {name: kind for name, kind, _ in LAYERS}
    with h5py.File(path, "w") as handle:
        root = handle
        if layout == "model":
            handle.attrs["keras_version"] = np.bytes_(keras_version)
            handle.attrs["backend"] = np.bytes_(backend)
            handle.attrs["model_config"] = json.dumps({"class_name": "Model", "config": {}})
            handle.attrs["training_config"] = json.dumps({"loss": "kl", "optimizer_config": {}})
            optimizer = handle.create_group("optimizer_weights")
            optimizer.create_dataset("Adam/iterations:0", data=np.int64(7))
            root = handle.create_group("model_weights")
        names = [rename.get(n, n) for n in KERAS2_LAYER_NAMES if n not in drop]
        root.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
        root.attrs["backend"] = np.bytes_(backend)
        root.attrs["keras_version"] = np.bytes_(keras_version)
        for ours in KERAS2_LAYER_NAMES:
            if ours in drop:
                continue
            name = rename.get(ours, ours)
            group = root.create_group(name)
            if ours not in kinds:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
                continue
            specs = weight_specs(kinds[ours], dict(_widths())[ours])
            weight_names = [_weight_name(name, s) for s, _ in specs]
            group.attrs["weight_names"] = np.array([w.encode("utf8") for w in weight_names])
            values = (override or {}).get(ours) or (arrays or {}).get(ours)
            pairs = zip(weight_names, specs, strict=True)
            for index, (weight_name, (_, shape)) in enumerate(pairs):
                if values is None:
                    group.create_dataset(weight_name, shape=shape, dtype=np.float32)
                else:
                    group.create_dataset(weight_name, data=values[index])


def _widths():
    return [(name, widths) for name, _, widths in LAYERS]
