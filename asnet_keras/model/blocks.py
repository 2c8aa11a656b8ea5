"""Building blocks shared by every ASNet configuration (docs/model.md §1).

Each function adds a few named built-in Keras layers to a functional graph and returns
the output tensor. The `paper` graph (`asnet_keras.model`) and the `released` graph
(`asnet_keras.model.released`) are both assembled from these, so a fix here fixes both.

Build order matters: `.weights.h5` files match weights by layer class and creation
order (docs/framework_notes.md §4), so callers must keep the order in which they call these blocks.
"""

import os

import keras

from asnet_keras.layers.static_convlstm import StaticConvLSTM2D
from asnet_keras.model.options import RECURRENCES
from asnet_keras.parameters import check_choice

# ImageNet channel means in BGR order, as used by VGG16's "caffe" preprocessing.
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)

# Side features fed to the five top-down stages: stage k reads the last convolution of
# VGG16 block k, after its ReLU and before pooling (paper §3.2, Fig. 3).
VGG_SIDE_LAYERS = {
    1: "block1_conv2",
    2: "block2_conv2",
    3: "block3_conv3",
    4: "block4_conv3",
    5: "block5_conv3",
}

# Number of ConvLSTM time steps; every step sees the same input (paper §3.2, released
# config.py `nb_timestep = 3`).
TIME_STEPS = 3


@keras.saving.register_keras_serializable(package="asnet_keras")
def hard_sigmoid_keras2(x):
    """Keras 2's hard sigmoid, clip(0.2·x + 0.5, 0, 1) (docs/released_model.md §1.2).

    Keras 3's own `hard_sigmoid` is relu6(x + 3)/6, a different function; the released
    weights were trained with this one.
    """
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


def channel_preprocessing(image, means_rgb_subtracted, name="preprocess"):
    """Raw RGB pixels (0–255) → mean-subtracted BGR, as one fixed 1×1 convolution.

    Output channel c is input channel 2 − c minus `means_rgb_subtracted[c]`. With
    `CAFFE_MEANS_BGR` this is exactly `keras.applications.vgg16.preprocess_input`
    ("caffe" mode: RGB → BGR, ImageNet mean subtracted, no scaling). A 1×1 convolution
    with a 0/1 permutation kernel is exact in float32 and keeps the graph free of
    `Lambda` layers; its 12 weights are frozen.

    Args:
        image: (batch, H, W, 3) raw RGB tensor, values 0–255.
        means_rgb_subtracted: 3 values subtracted from output channels 0, 1, 2 (B, G, R).
        name: layer name.
    Returns:
        (batch, H, W, 3) float tensor.
    """
    flip = [[[[1.0 if i == 2 - o else 0.0 for o in range(3)] for i in range(3)]]]
    layer = keras.layers.Conv2D(
        3,
        1,
        kernel_initializer=keras.initializers.Constant(flip),
        bias_initializer=keras.initializers.Constant([-float(m) for m in means_rgb_subtracted]),
        trainable=False,
        name=name,
    )
    return layer(image)


def vgg16_backbone(features, input_shape, weights):
    """VGG16's 13 convolutions on `features`, pool5 left out (docs/model.md §1.1).

    The layers come from `keras.applications.VGG16(include_top=False)` (so the
    ImageNet weights load exactly as Keras ships them) and are re-applied to our own
    tensor, so that the ASNet graph holds them directly under their VGG16 names
    (`block1_conv1` … `block5_conv3`).

    Args:
        features: (batch, H, W, 3) preprocessed BGR tensor.
        input_shape: (H, W, 3), used to build the VGG16 model.
        weights: "imagenet", None, or the path of a local VGG16 no-top weights file
            (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`).
    Returns:
        dict stage → side feature tensor: {1: block1_conv2 (H), 2: block2_conv2 (H/2),
        3: block3_conv3 (H/4), 4: block4_conv3 (H/8), 5: block5_conv3 (H/16, 512 ch)}.
    Raises:
        ValueError: the weights file does not exist, does not fit VGG16, or the ImageNet
            weights cannot be downloaded.
    """
    vgg = _load_vgg16(input_shape, weights)
    side_names = {name: stage for stage, name in VGG_SIDE_LAYERS.items()}
    side = {}
    x = features
    for layer in vgg.layers[1:]:
        if layer.name == "block5_pool":
            break  # pool5 is left out: conv5_3 stays at H/16.
        x = layer(x)
        if layer.name in side_names:
            side[side_names[layer.name]] = x
    return side


def _load_vgg16(input_shape, weights):
    """`keras.applications.VGG16` without its top, with errors that say what to do."""
    if weights is not None and weights != "imagenet":
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise ValueError(
                f"backbone_weights={path!r}: no such file. Pass the path of a VGG16 no-top "
                "weights file (vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, from "
                "keras.applications), 'imagenet' to download it, or None for random weights."
            )
        weights = path
    try:
        return keras.applications.VGG16(
            include_top=False, weights=weights, input_shape=tuple(input_shape)
        )
    except Exception as error:  # noqa: BLE001 - re-raised with the fix spelled out
        if weights == "imagenet":
            raise ValueError(
                f"Could not obtain the ImageNet VGG16 weights ({error}). On a machine without "
                "internet pass backbone_weights=PATH to a local copy of "
                "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or None to start from "
                "random weights."
            ) from error
        if weights is None:
            raise
        raise ValueError(
            f"backbone_weights={weights!r} does not fit VGG16 without its top ({error}). Pass "
            "a VGG16 no-top weights file (13 convolutions, block1_conv1 … block5_conv3), "
            "'imagenet', or None."
        ) from error


def repeat_in_time(x, steps, name):
    """(batch, H, W, C) → (batch, steps, H, W, C), the same map at every step.

    Built from `Reshape` + `Concatenate` only, so the graph needs no custom layer
    (docs/framework_notes.md §2).
    """
    height, width, channels = x.shape[1:]
    step = keras.layers.Reshape((1, height, width, channels), name=f"{name}_step")(x)
    return keras.layers.Concatenate(axis=1, name=name)([step] * steps)


def recurrent_block(
    x,
    filters,
    name,
    *,
    recurrence="static",
    use_convlstm=True,
    recurrent_activation="sigmoid",
    recurrent_initializer="orthogonal",
):
    """The ConvLSTM of one stage (paper Eqs. 2–6), or its Table 5 replacement.

    A 3×3 ConvLSTM with `filters` hidden channels, "same" padding, run for
    `TIME_STEPS` steps on the same input, returning the last hidden state.

    Args:
        x: (batch, H, W, C) input map.
        filters: hidden width (docs/model.md §1.1 table).
        name: name of the recurrent layer.
        recurrence: "static" — `StaticConvLSTM2D`, the exact fast form for a static
            input (input convolution once, zero-state work skipped); "stock" — Keras'
            `ConvLSTM2D` on the input repeated in time (built-in layers only).
        use_convlstm: False builds the `w/o convLSTM` ablation (docs/model.md §4): one 3×3
            convolution of the same input and output widths, with tanh so its range
            matches the ConvLSTM's hidden state.
        recurrent_activation: the gate activation σ of Eqs. 2–4: "sigmoid" (paper) or
            `hard_sigmoid_keras2` (released weights).
        recurrent_initializer: initialiser of the state-to-state kernel (Keras' default
            "orthogonal"; the released-weights converter passes "zeros", since every
            value is overwritten and an orthogonal 4608×2048 draw costs ~10 s on 2 cores).
    Returns:
        (batch, H, W, filters).
    """
    check_choice("recurrence", recurrence, RECURRENCES)
    if not use_convlstm:
        return keras.layers.Conv2D(filters, 3, padding="same", activation="tanh", name=name)(x)
    if recurrence == "stock":
        sequence = repeat_in_time(x, TIME_STEPS, name=f"{name}_repeat")
        return keras.layers.ConvLSTM2D(
            filters,
            3,
            padding="same",
            recurrent_activation=recurrent_activation,
            recurrent_initializer=recurrent_initializer,
            return_sequences=False,
            # Three steps unrolled under JAX: its scan loop made a training step ~60×
            # slower (docs/framework_notes.md §7); same values, other backends unchanged.
            unroll=keras.backend.backend() == "jax",
            name=name,
        )(sequence)
    return StaticConvLSTM2D(
        filters,
        3,
        time_steps=TIME_STEPS,
        recurrent_activation=recurrent_activation,
        recurrent_initializer=recurrent_initializer,
        name=name,
    )(x)


def lateral_compression(
    feature, filters, name, *, bn_name=None, activation_name=None, synchronized=False
):
    """1×1 conv → batch norm → sigmoid on a VGG side feature (stages 4…1, docs/model.md §1.1).

    `bn_name` and `activation_name` default to `{name}_bn` and `{name}_sigmoid`; the
    `released` graph passes the Keras 2 auto-names (`batch_normalization_1`, …) so that
    its layer names equal the authors' file (docs/released_model.md §1.3). `synchronized`
    makes batch statistics global across `tf.distribute` replicas (TensorFlow only), so
    N replicas normalise exactly as one device would on the whole batch.
    """
    x = keras.layers.Conv2D(filters, 1, name=name)(feature)
    x = keras.layers.BatchNormalization(name=bn_name or f"{name}_bn", synchronized=synchronized)(x)
    return keras.layers.Activation("sigmoid", name=activation_name or f"{name}_sigmoid")(x)


def sigmoid_readout(x, name, kernel_size=1):
    """One-channel sigmoid map (P or Q_k) from a feature map.

    Computed in float32 even under a mixed-precision policy: in 16 bits a confident
    pixel rounds to exactly 1.0 and the loss saturates (docs/framework_notes.md §6).
    """
    return keras.layers.Conv2D(
        1, kernel_size, padding="same", activation="sigmoid", dtype="float32", name=name
    )(x)


def upsample2(x, name):
    """×2 nearest-neighbour upsampling, as in the released code (docs/model.md §1.1)."""
    return keras.layers.UpSampling2D(2, interpolation="nearest", name=name)(x)
