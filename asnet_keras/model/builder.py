"""The ASNet model builder (paper §3, docs/model.md §1).

`build_asnet` returns a functional `keras.Model` that takes raw RGB pixels and outputs
the fixation map and the five top-down saliency maps. Two configurations share the
blocks of `asnet_keras.model.blocks`: `paper` (the CVPR text, the default) and `released`
(the authors' trained network, `asnet_keras.model.released`).
"""

import keras

from asnet_keras.model import blocks
from asnet_keras.model.options import PAPER_INPUT_SIZE, check_architecture, check_input_shape
from asnet_keras.model.released import graph as released_graph
from asnet_keras.names import FIXATION_28_OUTPUT, FIXATION_OUTPUT, OUTPUT_NAMES  # noqa: F401

# Hidden widths of the paper configuration (docs/model.md §1.1 table; the paper is silent,
# these are the released code's): compression filters and ConvLSTM hidden per stage.
PAPER_WIDTHS = {5: 64, 4: 64, 3: 64, 2: 64, 1: 32}


def build_asnet(
    input_shape=(PAPER_INPUT_SIZE, PAPER_INPUT_SIZE, 3),
    backbone_weights="imagenet",
    *,
    config="paper",
    fixation_head=True,
    use_convlstm=True,
    fixation_28=False,
    recurrence="static",
    sync_batchnorm=False,
    name=None,
):
    """Build ASNet as a functional Keras model.

    Paper §3.1–3.2 (Fig. 3); docs/model.md §1.1 for every width the paper leaves open.

    Args:
        input_shape: (H, W, 3); H and W multiples of 16, at least 32 (the paper: 224).
        backbone_weights: "imagenet" (downloaded by Keras, cached in ~/.keras), None
            (random), or the path of a local VGG16 no-top weights `.h5`.
        config: "paper" or "released" (the authors' `ASNet.h5` network, docs/model.md §1.2).
        fixation_head: False builds Table 5's `w/o fixation`: no fixation output, and
            stage 5 sees only its compressed conv5_3 features.
        use_convlstm: False builds Table 5's `w/o convLSTM`: one 3×3 convolution in place
            of each ConvLSTM.
        fixation_28: True adds the ASNet-28×28 output `fixation_conv4` (paper §4.1).
        recurrence: "static" (the default: `asnet_keras.layers.StaticConvLSTM2D`, the
            exact ConvLSTM for a static input at about half the recurrent cost; use it to
            train, evaluate and predict) or "stock" (Keras' `ConvLSTM2D` on the input
            repeated in time: built-in layers only, so a saved model loads in any Keras 3
            code without `asnet_keras`; `asnet_keras.export.portable` writes it). Weights
            are the same in both: `.weights.h5` files load into either.
        sync_batchnorm: batch statistics over all `tf.distribute` replicas (TensorFlow
            backend; the trainer turns it on for multi-replica runs).
        name: model name (default "asnet" or "asnet_released").
    Returns:
        `keras.Model` with input "image" (batch, H, W, 3) of raw RGB values 0–255, and
        outputs, in order, `fixation` (H/16), `saliency_conv5` (H/16), `saliency_conv4`
        (H/8), `saliency_conv3` (H/4), `saliency_conv2` (H/2), `saliency_conv1` (H), each
        (batch, h, w, 1) in [0, 1]; then `fixation_conv4` (H/8) when `fixation_28`.
    Raises:
        ValueError: an impossible request (`asnet_keras.model.options.check_input_shape`
            and `check_architecture`, the checks of `ASNetOptions`); the message says
            what to pass instead.

    Example:
        >>> model = build_asnet((224, 224, 3), backbone_weights=None)
        >>> outputs = dict(zip(model.output_names, model.predict(images)))
        >>> outputs["saliency_conv1"].shape
        (n, 224, 224, 1)
    """
    input_shape = check_input_shape(input_shape)
    check_architecture(config=config, fixation_head=fixation_head, use_convlstm=use_convlstm,
                       fixation_28=fixation_28, recurrence=recurrence)
    if config == "released":
        return released_graph.build_released_graph(
            input_shape, backbone_weights, recurrence=recurrence, name=name
        )
    return _build_paper_graph(
        input_shape,
        backbone_weights,
        fixation_head=fixation_head,
        use_convlstm=use_convlstm,
        fixation_28=fixation_28,
        recurrence=recurrence,
        sync_batchnorm=sync_batchnorm,
        name=name or "asnet",
    )


def _build_paper_graph(
    input_shape,
    backbone_weights,
    *,
    fixation_head,
    use_convlstm,
    fixation_28,
    recurrence,
    sync_batchnorm,
    name,
):
    """The `paper` configuration, top to bottom in the order data flows."""
    stage = dict(recurrence=recurrence, use_convlstm=use_convlstm)
    image = keras.Input(shape=input_shape, name="image")
    bgr = blocks.channel_preprocessing(image, blocks.CAFFE_MEANS_BGR)
    side = blocks.vgg16_backbone(bgr, input_shape, backbone_weights)

    outputs = []
    # Fixation head (§3.1): 3×3 conv + sigmoid on conv5_3 → P, (H/16)².
    if fixation_head:
        fixation = blocks.sigmoid_readout(side[5], FIXATION_OUTPUT, kernel_size=3)
        outputs.append(fixation)

    # Stage 5 (§3.2): 3×3 compression with sigmoid, ⊕ P, ConvLSTM, 1×1 sigmoid → Q5.
    compressed = keras.layers.Conv2D(
        PAPER_WIDTHS[5], 3, padding="same", activation="sigmoid", name="compress_conv5"
    )(side[5])
    if fixation_head:
        compressed = keras.layers.Concatenate(name="concat_conv5")([compressed, fixation])
    hidden = blocks.recurrent_block(compressed, PAPER_WIDTHS[5], "convlstm_conv5", **stage)
    saliency = blocks.sigmoid_readout(hidden, "saliency_conv5")
    outputs.append(saliency)

    # Stages 4 … 1: 1×1 compression + BN + sigmoid, ⊕ upsampled Q(k+1), ConvLSTM → Qk.
    compressed_conv4 = None
    for k in (4, 3, 2, 1):
        compressed = blocks.lateral_compression(
            side[k], PAPER_WIDTHS[k], f"compress_conv{k}", synchronized=sync_batchnorm
        )
        if k == 4:
            compressed_conv4 = compressed
        prior = blocks.upsample2(saliency, f"upsample_conv{k}")
        merged = keras.layers.Concatenate(name=f"concat_conv{k}")([compressed, prior])
        hidden = blocks.recurrent_block(merged, PAPER_WIDTHS[k], f"convlstm_conv{k}", **stage)
        saliency = blocks.sigmoid_readout(hidden, f"saliency_conv{k}")
        outputs.append(saliency)

    # ASNet-28×28 (§4.1): P ×2 ⊕ compressed conv4_3 → ConvLSTM → 1×1 sigmoid, (H/8)².
    if fixation_28:
        prior = blocks.upsample2(fixation, "fixation_upsample")
        merged = keras.layers.Concatenate(name="fixation_concat_conv4")([compressed_conv4, prior])
        hidden = blocks.recurrent_block(
            merged, PAPER_WIDTHS[4], "fixation_convlstm_conv4", **stage
        )
        outputs.append(blocks.sigmoid_readout(hidden, FIXATION_28_OUTPUT))

    return keras.Model(image, outputs, name=name)
