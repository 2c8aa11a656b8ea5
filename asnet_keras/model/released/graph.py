"""The `released` configuration: the authors' trained ASNet, layer for layer.

docs/released_model.md is the specification: §1 the 37 weighted layers, §2 the graph and the
seven outputs, §3 the learned prior, §4 the pre- and post-processing of `main.py`.
`build_released_graph` assembles it from the blocks shared with the `paper`
configuration (`asnet_keras.model.blocks`); `asnet_keras.inference.released_processing`
reproduces `main.py`'s image handling.

Every layer that exists in the Keras 2 graph keeps its Keras 2 name (docs/released_model.md
§1.1, §2.3), so the authors' weight file maps onto this model by name. The seven outputs
get names of this project's scheme through weightless `Identity` layers.

Example:
    >>> from asnet_keras.inference import released_processing as processing
    >>> from asnet_keras.model.released import build_released_graph
    >>> model = build_released_graph((224, 224, 3), None, recurrence="stock")
    >>> maps = model.predict(processing.released_preprocess(image)[None])
    >>> saliency = processing.released_postprocess(maps[-1][0, ..., 0], image.shape[:2])
"""

import keras

from asnet_keras.model import blocks
from asnet_keras.model.released.layers import LearningPrior

# §4 step 3: main.py subtracts the caffe means in RGB order, then flips to BGR, so the
# network sees B − 123.68, G − 116.779, R − 103.939 (B and R means swapped w.r.t. caffe).
RELEASED_MEANS = (123.68, 116.779, 103.939)

# Outputs in the released order P, side, Q5, Q4, Q3, Q2, Q1 (docs/released_model.md §2.2):
# our names, and the Keras 2 layers that produce them.
OUTPUT_NAMES = (
    "fixation",
    "saliency_side_conv5",
    "saliency_conv5",
    "saliency_conv4",
    "saliency_conv3",
    "saliency_conv2",
    "saliency_conv1",
)
KERAS2_OUTPUT_LAYERS = (
    "att_conv5",
    "s_saliency_conv_5",
    "sal_conv5",
    "sal_conv4",
    "sal_conv3",
    "sal_conv2",
    "sal_conv1",
)

# The 37 weighted layers in the order the released code creates them (§1.1).
WEIGHTED_LAYERS = (
    "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
    "s_conv_5", "s_saliency_conv_5",
    "conv5_lstm1", "learning_prior_1", "merge_att_conv5", "att_conv5",
    "conv5_lstm2", "sal_conv5",
    "conv_4_out", "batch_normalization_1", "conv4_lstm2", "sal_conv4",
    "conv_3_out", "batch_normalization_2", "conv3_lstm", "sal_conv3",
    "conv_2_out", "batch_normalization_3", "conv2_lstm", "sal_conv2",
    "conv_1_out", "batch_normalization_4", "conv1_lstm", "sal_conv1",
)  # fmt: skip

# The same 37 in Keras 2's `model.layers` order, the order of the file's `layer_names`
# and of Keras 2's positional `load_weights` (docs/released_model.md §5.3).
KERAS2_LOAD_ORDER = (
    "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
    "conv5_lstm1", "learning_prior_1", "merge_att_conv5", "att_conv5", "s_conv_5",
    "conv5_lstm2", "conv_4_out", "sal_conv5", "batch_normalization_1",
    "conv4_lstm2", "conv_3_out", "sal_conv4", "batch_normalization_2",
    "conv3_lstm", "conv_2_out", "sal_conv3", "batch_normalization_3",
    "conv2_lstm", "conv_1_out", "sal_conv2", "batch_normalization_4",
    "conv1_lstm", "s_saliency_conv_5", "sal_conv1",
)  # fmt: skip

# Layers the released code leaves unnamed: Keras 2 prefix → our names, in creation
# order (docs/released_model.md §1.3).
AUTO_NAMED = {
    "batch_normalization": (
        "batch_normalization_1",
        "batch_normalization_2",
        "batch_normalization_3",
        "batch_normalization_4",
    ),
    "learning_prior": ("learning_prior_1",),
}

# Widths read from update_models.py (docs/released_model.md §1.1).
FIXATION_LSTM_WIDTH = 512  # conv5_lstm1
NB_GAUSSIAN = 16  # learning_prior_1
STAGE5_WIDTH = 64  # s_conv_5, merge_att_conv5, conv5_lstm2
STAGE_WIDTHS = {4: 64, 3: 64, 2: 64, 1: 32}  # conv_k_out and its ConvLSTM
STAGE_LSTM_NAMES = {4: "conv4_lstm2", 3: "conv3_lstm", 2: "conv2_lstm", 1: "conv1_lstm"}


def build_released_graph(
    input_shape,
    backbone_weights,
    *,
    recurrence="stock",
    name=None,
    recurrent_initializer="orthogonal",
):
    """The released ASNet network (docs/released_model.md §1–§2), top to bottom.

    Called by `asnet_keras.model.build_asnet(config="released")`, which has already
    checked `input_shape` and `recurrence` (`asnet_keras.model.options`). The released model is fixed at 224×224; any multiple of 16
    from 32 up builds the same weights (the prior takes its grid from conv5_3's static
    H/16 × W/16), and the batch size is free.

    Args:
        input_shape: (H, W, 3).
        backbone_weights: "imagenet", None or a VGG16 no-top `.h5` (only useful before
            converting the authors' weights over it).
        recurrence: "stock" (Keras `ConvLSTM2D`) or "static" (`StaticConvLSTM2D`); the
            weights are the same either way.
        name: model name (default "asnet_released").
        recurrent_initializer: of the six ConvLSTMs' state-to-state kernels; Keras 2's
            "orthogonal" by default. The converter passes "zeros": every value is then
            overwritten, and the file loads ~10 s faster.
    Returns:
        `keras.Model` with input "image" (batch, H, W, 3) of raw RGB values 0–255 and the
        seven outputs of `OUTPUT_NAMES`, each (batch, h, w, 1) in [0, 1]: `fixation`,
        `saliency_side_conv5` and `saliency_conv5` at H/16, then `saliency_conv4` …
        `saliency_conv1` at H/8 … H. `saliency_conv1` is the map `main.py` saves.
    """
    lstm = dict(
        recurrence=recurrence,
        recurrent_activation=blocks.hard_sigmoid_keras2,  # Keras 2 semantics, §1.2
        recurrent_initializer=recurrent_initializer,
    )
    image = keras.Input(shape=tuple(input_shape), name="image")
    # §4 step 3, inside the model: RGB → BGR with the swapped means.
    bgr = blocks.channel_preprocessing(image, RELEASED_MEANS, name="preprocess")
    side = blocks.vgg16_backbone(bgr, input_shape, backbone_weights)

    # Layers are created in the order of §1.1 (side branch of stage 5 first).
    # Stage 5 side branch: 3×3 conv 64 ReLU, and its own 1×1 sigmoid side output.
    compressed5 = keras.layers.Conv2D(
        STAGE5_WIDTH, 3, padding="same", activation="relu", name="s_conv_5"
    )(side[5])
    side_saliency = blocks.sigmoid_readout(compressed5, "s_saliency_conv_5")

    # Fixation branch (§2.3): ConvLSTM 512 ⊕ 16 prior maps → 3×3 conv 64 → 1×1 sigmoid = P.
    hidden = blocks.recurrent_block(side[5], FIXATION_LSTM_WIDTH, "conv5_lstm1", **lstm)
    prior = LearningPrior(NB_GAUSSIAN, name="learning_prior_1")(side[5])
    merged = keras.layers.Concatenate(name="concatenate_1")([hidden, prior])
    merged = keras.layers.Conv2D(
        STAGE5_WIDTH, 3, padding="same", activation="relu", name="merge_att_conv5"
    )(merged)
    fixation = blocks.sigmoid_readout(merged, "att_conv5")

    # Stage 5: s_conv_5 ⊕ P → ConvLSTM 64 → 1×1 sigmoid = Q5.
    merged = keras.layers.Concatenate(name="concatenate_2")([compressed5, fixation])
    hidden = blocks.recurrent_block(merged, STAGE5_WIDTH, "conv5_lstm2", **lstm)
    saliency = blocks.sigmoid_readout(hidden, "sal_conv5")
    saliencies = [saliency]

    # Stages 4 … 1: 1×1 conv → BN → sigmoid ⊕ nearest-upsampled Q(k+1) → ConvLSTM → Qk.
    for index, k in enumerate((4, 3, 2, 1), start=1):
        compressed = blocks.lateral_compression(
            side[k],
            STAGE_WIDTHS[k],
            f"conv_{k}_out",
            bn_name=f"batch_normalization_{index}",
            activation_name=f"activation_{index}",
        )
        upsampled = blocks.upsample2(saliency, f"up_sampling2d_{index}")
        merged = keras.layers.Concatenate(name=f"concatenate_{index + 2}")(
            [compressed, upsampled]
        )
        hidden = blocks.recurrent_block(merged, STAGE_WIDTHS[k], STAGE_LSTM_NAMES[k], **lstm)
        saliency = blocks.sigmoid_readout(hidden, f"sal_conv{k}")
        saliencies.append(saliency)

    maps = [fixation, side_saliency, *saliencies]
    outputs = [keras.layers.Identity(name=out)(t) for out, t in zip(OUTPUT_NAMES, maps)]
    return keras.Model(image, outputs, name=name or "asnet_released")


def load_released(path):
    """Load a converted `released` model file (`.keras`; the registrations are in place
    once this module is imported)."""
    return keras.models.load_model(path, compile=False)
