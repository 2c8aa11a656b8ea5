"""A Keras 2 HDF5 model file of a trained ASNet, for `tf_keras` and TensorFlow ≤ 2.15.

    asnet export --weights runs/exp1 --format keras2 --out asnet_k2.h5

    model = tf_keras.models.load_model("asnet_k2.h5", compile=False)   # or TF 2.15's tf.keras
    maps = dict(zip(model.output_names, model.predict(images)))       # raw RGB 0–255 in

`export_keras2` writes the network of `asnet_keras.export.builtin.builtin_graph` (built-in
layers only; the `released` ConvLSTMs keep Keras 2's `hard_sigmoid`, the function they were
trained with) with h5py, in the layout Keras 2's `model.save(path)` writes
(docs/deployment.md §5, docs/released_model.md §5.2): root attributes `keras_version`,
`backend` and `model_config` (the architecture as Keras 2 JSON), and a group
`model_weights` whose attribute `layer_names` lists every layer in Keras 2's order, one
group per layer with `weight_names` and the arrays at `<layer>/<layer>/<weight>:0`. Keras 2
loads the arrays by position (docs/released_model.md §5.3): the i-th layer with weights in
`layer_names` goes to the i-th layer with weights of the model that `model_config` rebuilds,
so `layer_names` follows `keras2_layer_order`, the order Keras 2 gives that model's layers.

The Keras 2 spelling of each layer (`keras2_config`): `batch_input_shape` for Keras 3's
`batch_shape`, `dtype` as a string, initializers as `{"class_name", "config"}` with Keras 2's
arguments only, each layer's Keras 2 arguments (Keras 3-only ones must hold their neutral
value), `Identity` as `Activation("linear")`, and the gate function by meaning, not by name:
Keras 3's `hard_sigmoid` is another function than Keras 2's (`asnet_keras.export.builtin`), so
only our `hard_sigmoid_keras2` becomes Keras 2's `"hard_sigmoid"`. The array layouts are the
same in both Keras (docs/released_model.md §2.4): nothing is transposed or reordered.

After writing, the file is loaded with `tf_keras` in a fresh process (`python -m
asnet_keras.export.runtimes FILE --format keras2`) and compared with the trained model
(`asnet_keras.export.check.check_artifact`); without `tf_keras` installed the export stops
before writing unless told not to check.
"""

import importlib.util
import json
import os

import h5py
import keras
import numpy as np

from asnet_keras.export.builtin import builtin_graph, custom_objects
from asnet_keras.export.check import check_artifact
from asnet_keras.export.contract import KERAS2_FORMAT, KERAS2_PACKAGE, format_for
from asnet_keras.export.formats import FormatUnavailable
from asnet_keras.export.trained import load_trained
from asnet_keras.io.atomic_files import atomic_output
from asnet_keras.model.blocks import hard_sigmoid_keras2

# The Keras 2 whose file layout and config keys this writes (TensorFlow 2.15's tf.keras;
# tf_keras continues it). Keras 2 reads only whether it starts with "1" (a Keras 1 file).
KERAS2_VERSION = "2.15.0"

# Keras 2's constructor arguments per layer class, in the order Keras 2 writes them
# (besides name, trainable and dtype). Values come from the Keras 3 config of the same
# name, translated by `_value`.
_KERAS2_ARGUMENTS = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "data_format",
               "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer",
               "bias_initializer", "kernel_regularizer", "bias_regularizer",
               "activity_regularizer", "kernel_constraint", "bias_constraint"),
    "Dense": ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint"),
    "ConvLSTM2D": ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                   "time_major", "filters", "kernel_size", "strides", "padding",
                   "data_format", "dilation_rate", "activation", "recurrent_activation",
                   "use_bias", "kernel_initializer", "recurrent_initializer",
                   "bias_initializer", "unit_forget_bias", "kernel_regularizer",
                   "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                   "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
                   "recurrent_dropout"),
    "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale",
                           "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                           "moving_variance_initializer", "beta_regularizer",
                           "gamma_regularizer", "beta_constraint", "gamma_constraint"),
    "MaxPooling2D": ("pool_size", "padding", "strides", "data_format"),
    "GlobalAveragePooling2D": ("data_format", "keepdims"),
    "UpSampling2D": ("size", "data_format", "interpolation"),
    "Reshape": ("target_shape",),
    "Concatenate": ("axis",),
    "Activation": ("activation",),
}
# Keras 2 arguments Keras 3 no longer has, and the value that keeps Keras 3's behaviour.
# `unroll`: Keras 2 refuses to unroll a convolutional RNN (Keras 3 unrolls under JAX; same
# values either way).
_KERAS2_FIXED = {"activity_regularizer": None, "time_major": False, "unroll": False}
# Keras 3 arguments Keras 2 lacks, with the value that makes each inert (`_ANY`: it only
# matters in training, or only when another argument is set).
_ANY = object()
_KERAS3_ONLY = {"synchronized": _ANY, "seed": _ANY, "zero_output_for_mask": _ANY,
                "renorm": False, "renorm_clipping": _ANY, "renorm_momentum": _ANY,
                "quantization_config": None, "lora_rank": None, "lora_alpha": _ANY}
# Keras 2's variable names per layer class, in Keras 2's weight order (trainable, then
# not trainable); the Keras 3 variables are found by the same names.
_WEIGHT_NAMES = {
    "Conv2D": ("kernel", "bias"),
    "Dense": ("kernel", "bias"),
    "ConvLSTM2D": ("kernel", "recurrent_kernel", "bias"),
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
}
# Initializer arguments in Keras 2 (Keras 3 adds e.g. GlorotUniform's input_axes).
_INITIALIZERS = {"Zeros": (), "Ones": (), "Constant": ("value",), "GlorotUniform": ("seed",),
                 "GlorotNormal": ("seed",), "HeNormal": ("seed",), "HeUniform": ("seed",),
                 "Orthogonal": ("gain", "seed")}
# Activation names that mean the same function in Keras 2 and Keras 3.
_SAME_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
# Keras 3's name for the registered Keras 2 hard sigmoid.
_KERAS2_HARD_SIGMOID = keras.saving.get_registered_name(hard_sigmoid_keras2)


class Keras2Unsupported(ValueError):
    """The model holds something this writer cannot spell in Keras 2."""


def tf_keras_missing():
    """A message naming what the check needs, or None when `tf_keras` is installed."""
    if all(importlib.util.find_spec(name) for name in ("tf_keras", "tensorflow")):
        return None
    return (f"checking a keras2 file loads it with tf_keras, which is not installed: "
            f"`pip install --no-deps {KERAS2_PACKAGE}` (it pairs with TensorFlow 2.21; "
            "--no-deps keeps a tensorflow-cpu install as it is), or pass --no-check to "
            "write the file unchecked.")


def export_keras2(weights, out, *, input_size=None, fixation_head=None, fixation_28=None,
                  use_convlstm=None, config=None, check=True):
    """Write the trained ASNet at `weights` as a Keras 2 `.h5` model at `out`, then check it.

    Args:
        weights: a `.weights.h5`, `.keras` or `.h5` file or a training run folder
            (`asnet_keras.export.trained.load_trained`).
        out: a `.h5` path.
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None: from config.json beside `weights`, else from its layers.
        check: load the file with `tf_keras` in a fresh process and compare every output
            with the trained model on `check_images` (≤ `CHECK_TOLERANCE`).
    Returns:
        dict: out, format, options, outputs (names in order), layers_copied, differences
        (output → largest absolute difference, None unchecked) and max_abs_difference.
    Raises:
        FileNotFoundError: nothing at `weights`. ValueError: a path or option is wrong.
        asnet_keras.export.formats.FormatUnavailable: `check` without `tf_keras`
            installed (nothing is written).
        RuntimeError: the file does not reproduce the trained model.
    """
    out = os.fspath(out)
    format_for(out, KERAS2_FORMAT)
    missing = tf_keras_missing() if check else None
    if missing:
        raise FormatUnavailable(missing)
    source, options = load_trained(
        weights, input_size=input_size, fixation_head=fixation_head,
        fixation_28=fixation_28, use_convlstm=use_convlstm, config=config,
    )
    model, copied = builtin_graph(source, options, gates="keras2")
    write_keras2(model, out)
    differences = None
    if check:
        differences = check_artifact(KERAS2_FORMAT, out, source,
                                     input_size=options.input_size)
    used = {k: v for k, v in options.to_json().items() if k != "recurrence"}
    return {"out": out, "format": KERAS2_FORMAT, "options": used,
            "outputs": list(model.output_names), "layers_copied": len(copied),
            "differences": differences,
            "max_abs_difference": max(differences.values()) if differences else None}


def write_keras2(model, out):
    """Write `model` (built-in layers; ConvLSTM gates `sigmoid` or `hard_sigmoid_keras2`)
    to `out` as Keras 2's `model.save(out)` would, complete or not at all.

    Raises:
        Keras2Unsupported: a layer, argument or value without a Keras 2 equivalent here.
    """
    foreign = [name for name in custom_objects(model) if name != _KERAS2_HARD_SIGMOID]
    if foreign:
        raise Keras2Unsupported(f"the model holds {foreign}, which Keras 2 does not have.")
    config = keras2_config(model)
    order = [layer["name"] for layer in config["config"]["layers"]]
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    with atomic_output(out) as tmp, h5py.File(tmp, "w") as file:
        file.attrs["keras_version"] = KERAS2_VERSION.encode("utf8")
        file.attrs["backend"] = b"tensorflow"
        file.attrs["model_config"] = json.dumps(config).encode("utf8")
        weights = file.create_group("model_weights")
        weights.attrs["keras_version"] = KERAS2_VERSION.encode("utf8")
        weights.attrs["backend"] = b"tensorflow"
        _write_names(weights, "layer_names", order)
        for name in order:
            group = weights.create_group(name)
            arrays = keras2_weights(model.get_layer(name))
            _write_names(group, "weight_names", [f"{name}/{w}:0" for w, _ in arrays])
            for weight, array in arrays:
                group.create_dataset(f"{name}/{weight}:0", data=array)


def keras2_weights(layer):
    """[(Keras 2 variable name, float32 array)] of `layer`, in Keras 2's order."""
    kind = type(layer).__name__
    values = {variable.name: variable for variable in layer.weights}
    if not values:
        return []
    names = _WEIGHT_NAMES.get(kind)
    if names is None or set(values) - set(names):
        raise Keras2Unsupported(f"layer {layer.name!r} ({kind}) holds weights "
                                f"{sorted(values)}, which this writer cannot place.")
    return [(name, np.asarray(keras.ops.convert_to_numpy(values[name]), dtype="float32"))
            for name in names if name in values]


def keras2_config(model):
    """`model_config` of the Keras 2 file: {"class_name": "Functional", "config": …} with
    the layers in `keras2_layer_order` and Keras 2 inbound nodes [[[name, 0, 0, {}], …]]."""
    config = model.get_config()
    layers = {layer["name"]: layer for layer in config["layers"]}
    inbound = {name: _inbound(layer) for name, layer in layers.items()}
    inputs = _history_list(config["input_layers"])
    outputs = _history_list(config["output_layers"])
    order = keras2_layer_order(inbound, outputs)
    return {
        "class_name": "Functional",
        "config": {
            "name": config["name"],
            "trainable": True,
            "layers": [_keras2_layer(layers[name], inbound[name]) for name in order],
            "input_layers": [[name, 0, 0] for name in inputs],
            "output_layers": [[name, 0, 0] for name in outputs],
        },
        "keras_version": KERAS2_VERSION,
        "backend": "tensorflow",
    }


def keras2_layer_order(inbound, outputs):
    """The order of Keras 2's `model.layers` (docs/released_model.md §5.3).

    Keras 2 walks the graph depth first from the outputs, in output order, numbering each
    layer when first reached; a layer's depth is 0 for an output and otherwise one more
    than the deepest layer it feeds. Layers are listed deepest first, ties in the order
    they were first reached.

    Args:
        inbound: {layer name: names of the layers whose outputs it takes, in order}.
        outputs: names of the output layers, in order.
    Returns:
        the layer names reachable from `outputs`, in Keras 2's order.
    """
    first_reached, finished, post_order = {}, set(), []

    def visit(name):
        if name in finished:
            return
        first_reached.setdefault(name, len(first_reached))
        for parent in inbound[name]:
            visit(parent)
        finished.add(name)
        post_order.append(name)  # after all its inputs: inputs → outputs

    for name in outputs:
        visit(name)
    depth = {}
    for name in reversed(post_order):  # every consumer before its inputs
        here = depth.setdefault(name, 0)
        for parent in inbound[name]:
            depth[parent] = max(depth.get(parent, 0), here + 1)
    return sorted(post_order, key=lambda name: (-depth[name], first_reached[name]))


def _history_list(value):
    """Keras 3 writes one [name, 0, 0] for a single input, a list of them otherwise."""
    items = [value] if value and isinstance(value[0], str) else value
    return [item[0] for item in items]


def _inbound(layer):
    """The names of the layers feeding `layer` (one call per layer: ours share none)."""
    nodes = layer["inbound_nodes"]
    if len(nodes) > 1:
        raise Keras2Unsupported(f"layer {layer['name']!r} is called {len(nodes)} times.")
    found = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                name, node, index = value["config"]["keras_history"]
                if (node, index) != (0, 0):
                    raise Keras2Unsupported(f"layer {layer['name']!r} takes output {index} "
                                            f"of call {node} of {name!r}.")
                found.append(name)
            else:
                for item in value.values():
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for node in nodes:
        walk(node["args"])
        walk(node["kwargs"])
    return found


def _keras2_layer(layer, inbound):
    kind, name = layer["class_name"], layer["name"]
    source = layer["config"]
    if kind == "InputLayer":
        config = {"batch_input_shape": list(source["batch_shape"]), "dtype": source["dtype"],
                  "sparse": bool(source.get("sparse")), "ragged": bool(source.get("ragged")),
                  "name": name}
    else:
        if kind == "Identity":  # Keras 2's identity layer that every version has
            kind, source = "Activation", dict(source, activation="linear")
        if kind not in _KERAS2_ARGUMENTS:
            raise Keras2Unsupported(f"layer {name!r} is a {kind}, which this writer does "
                                    f"not spell in Keras 2 (it writes {sorted(_KERAS2_ARGUMENTS)}).")
        config = {"name": name, "trainable": bool(source.get("trainable", True)),
                  "dtype": _dtype(source.get("dtype"))}
        for key in _KERAS2_ARGUMENTS[kind]:
            if key in _KERAS2_FIXED:
                config[key] = _KERAS2_FIXED[key]
                continue
            if key not in source:
                raise Keras2Unsupported(f"layer {name!r}: Keras 3 gives no {key!r}.")
            config[key] = _value(name, key, source[key])
        for key, value in source.items():
            if key in config or key in ("name", "trainable", "dtype") or key in _KERAS2_FIXED:
                continue
            if key not in _KERAS3_ONLY or _KERAS3_ONLY[key] not in (_ANY, value):
                raise Keras2Unsupported(f"layer {name!r} ({kind}) has {key}={value!r}, which "
                                        "Keras 2 cannot express.")
    return {"class_name": kind, "config": config, "name": name,
            "inbound_nodes": [[[parent, 0, 0, {}] for parent in inbound]] if inbound else []}


def _value(layer, key, value):
    """One Keras 3 argument value in Keras 2's form."""
    if key.endswith("_initializer"):
        return _initializer(layer, key, value)
    if key.endswith(("_regularizer", "_constraint")):
        if value is not None:
            raise Keras2Unsupported(f"layer {layer!r}: {key} {value!r} is not written.")
        return None
    if key in ("activation", "recurrent_activation"):
        return _activation(layer, key, value)
    return list(value) if isinstance(value, tuple) else value


def _activation(layer, key, value):
    if isinstance(value, str) and value in _SAME_ACTIVATIONS:
        return value
    if isinstance(value, dict) and value.get("config") == _KERAS2_HARD_SIGMOID:
        return "hard_sigmoid"  # Keras 2's hard_sigmoid is this very function
    raise Keras2Unsupported(
        f"layer {layer!r}: {key} {value!r} has no Keras 2 function of the same values "
        f"(written: {', '.join(_SAME_ACTIVATIONS)}; Keras 3's hard_sigmoid differs from "
        "Keras 2's)."
    )


def _initializer(layer, key, value):
    if isinstance(value, str):
        return value
    kind = value.get("class_name") if isinstance(value, dict) else None
    if kind not in _INITIALIZERS:
        raise Keras2Unsupported(f"layer {layer!r}: {key} {value!r} is not written.")
    arguments = value.get("config") or {}
    return {"class_name": kind,
            "config": {name: arguments.get(name) for name in _INITIALIZERS[kind]
                       if name in arguments}}


def _dtype(value):
    """Keras 3's DTypePolicy dict → its name ("float32"), as Keras 2 writes it."""
    if isinstance(value, dict):
        return value["config"]["name"]
    return value or "float32"


def _write_names(group, attribute, names):
    """A list of names as Keras 2 stores it: an array of UTF-8 bytes (an empty float
    array for none). ASNet's ~100 names stay far below the 64 KiB of one HDF5 object
    header, above which Keras 2 would split the attribute."""
    group.attrs[attribute] = np.asarray([name.encode("utf8") for name in names])
