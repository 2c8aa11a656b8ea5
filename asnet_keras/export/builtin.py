"""The trained ASNet as a graph of built-in Keras layers only (docs/deployment.md §5).

`builtin_graph(source, options)` is the network the plain-Keras files hold (the Keras 3
`.keras`/`.h5` of `asnet_keras.export.portable`, the Keras 2 `.h5` of
`asnet_keras.export.keras2`): the `stock` graph, its ConvLSTMs as
`keras.layers.ConvLSTM2D`, with the trained weights copied in by layer name. The `paper`
network is built-in layers only as it stands. The `released` network holds two objects of
this package; each is replaced by built-in layers computing the same values:

- `LearningPrior` (docs/released_model.md §3): its 16 maps depend on its weight and on the
  grid, never on the image, so they are computed once and stored as the bias of a frozen
  `Dense` layer that sees only zeros (`constant_maps`): 1×1 `Conv2D` with zero kernel and
  bias → `GlobalAveragePooling2D` → `Dense(H·W·16)` with zero kernel, bias = the maps →
  `Reshape` to (H, W, 16). 0·x + b = b: the maps come out bit for bit, for any batch.
- Keras 2's hard sigmoid in the ConvLSTM gates, hs₂(z) = clip(0.2·z + 0.5, 0, 1)
  (docs/released_model.md §1.2). Keras 3's built-in `hard_sigmoid` is
  hs₃(z) = relu6(z + 3)/6 = clip(z/6 + 0.5, 0, 1), so hs₂(z) = hs₃(1.2·z). The gate
  pre-activation z is linear in the layer's weights, so the Keras 3 graph takes
  `recurrent_activation="hard_sigmoid"` and the weight columns of the gates i, f and o
  (blocks 0, 1, 3 of the last axis, in Keras' order i, f, c, o) multiplied by `GATE_SCALE`
  = 1.2 (`keras3_gate_weights`); the cell input c keeps tanh and its weights. A Keras 2
  file keeps the trained weights (`gates="keras2"`): Keras 2's own `hard_sigmoid` is hs₂.

`custom_objects(model)` lists what a saved model would still need this package for; the
exports refuse to write a file that names any.
"""

import keras
import numpy as np

from asnet_keras.layers import copy_weights_by_name
from asnet_keras.model.blocks import hard_sigmoid_keras2
from asnet_keras.model.released.layers import LearningPrior
from asnet_keras.parameters import check_choice

# hs₂(z) = hs₃(GATE_SCALE·z): Keras 2's slope 0.2 over Keras 3's slope 1/6.
GATE_SCALE = 1.2
# Blocks of a ConvLSTM's 4F weight columns that feed a hard-sigmoid gate: i, f, o.
_GATE_BLOCKS = (0, 1, 3)
# "keras3": Keras 3's hard_sigmoid with scaled weights; "keras2": `hard_sigmoid_keras2`
# kept, for a Keras 2 file (whose `hard_sigmoid` is that function).
GATES = ("keras3", "keras2")


def builtin_graph(source, options, *, gates="keras3"):
    """The network of `source` rebuilt from built-in Keras layers, holding its weights.

    Args:
        source: the trained model (`asnet_keras.export.trained.load_trained`).
        options: its `ASNetOptions`.
        gates: "keras3" (Keras 3's `hard_sigmoid`, weights scaled) or "keras2" (the
            ConvLSTMs keep `hard_sigmoid_keras2` and the trained weights, for
            `asnet_keras.export.keras2`).
    Returns:
        (keras.Model computing what `source` computes, names of the layers copied).
    """
    check_choice("gates", gates, GATES)
    stock = options.replace(recurrence="stock").build()
    copied = copy_weights_by_name(source, stock)
    rescaled = {id(layer) for layer in stock.layers
                if gates == "keras3" and _has_keras2_gates(layer)}
    if not rescaled and not any(isinstance(layer, LearningPrior) for layer in stock.layers):
        return stock, copied
    clones = []

    def clone(layer):
        if id(layer) not in rescaled:
            return layer  # shared: the stock model is thrown away
        config = dict(layer.get_config(), recurrent_activation="hard_sigmoid")
        clones.append((layer, type(layer).from_config(config)))
        return clones[-1][1]

    def call(layer, *args, **kwargs):
        if isinstance(layer, LearningPrior):
            return constant_maps(args[0], prior_maps(layer, args[0].shape), layer.name)
        return layer(*args, **kwargs)

    model = keras.models.clone_model(stock, clone_function=clone, call_function=call)
    for trained, rebuilt in clones:
        rebuilt.set_weights(keras3_gate_weights(trained.get_weights()))
    return model, copied


def _has_keras2_gates(layer):
    return isinstance(layer, keras.layers.ConvLSTM2D) and \
        layer.recurrent_activation is hard_sigmoid_keras2


def keras3_gate_weights(weights):
    """[kernel, recurrent_kernel, bias] of a ConvLSTM with Keras 2's hard sigmoid → the
    same for Keras 3's `hard_sigmoid`: the i, f, o columns × `GATE_SCALE` (float32)."""
    scaled = []
    for array in weights:
        array = np.array(array, dtype="float32")
        width = array.shape[-1] // 4
        for block in _GATE_BLOCKS:
            array[..., block * width:(block + 1) * width] *= np.float32(GATE_SCALE)
        scaled.append(array)
    return scaled


def prior_maps(layer, input_shape):
    """The (H, W, n) float32 maps a built `LearningPrior` outputs on an input of
    `input_shape` (batch, H, W, C): the same for every sample and every image."""
    zeros = keras.ops.zeros((1, *input_shape[1:]), dtype="float32")
    return keras.ops.convert_to_numpy(layer(zeros))[0].astype("float32")


def constant_maps(x, maps, name):
    """(batch, H, W, C) → (batch, H, W, n) holding `maps` (H, W, n) for every sample.

    Built-in layers only, all frozen: `{name}_zeros` (1×1 Conv2D, zero kernel and bias:
    zeros (batch, H, W, 1) for finite x), `{name}_pool` (GlobalAveragePooling2D → (batch,
    1)), `{name}_maps` (Dense H·W·n, zero kernel, bias = `maps` row-major) and `name`
    (Reshape to (H, W, n)). Exact: the Dense adds its bias to zeros.
    """
    height, width, count = maps.shape
    zeros = keras.layers.Conv2D(1, 1, kernel_initializer="zeros", bias_initializer="zeros",
                                trainable=False, name=f"{name}_zeros")(x)
    pooled = keras.layers.GlobalAveragePooling2D(name=f"{name}_pool")(zeros)
    dense = keras.layers.Dense(height * width * count, kernel_initializer="zeros",
                               trainable=False, name=f"{name}_maps")
    flat = dense(pooled)
    dense.set_weights([np.zeros((1, height * width * count), "float32"),
                       np.asarray(maps, "float32").reshape(-1)])
    return keras.layers.Reshape((height, width, count), name=name)(flat)


def custom_objects(model):
    """The objects of this package a saved `model` would name (sorted; [] for a model of
    built-in layers only, which loads in any Keras without asnet_keras)."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.startswith("asnet_keras"):
            found.add(value)

    walk(model.get_config())
    return sorted(found)
