"""The `released` configuration: the authors' trained ASNet, layer for layer.

RELEASED_MODEL.md is the specification: §1 the 37 weighted layers, §2 the graph and the
seven outputs, §3 the learned prior, §4 the pre- and post-processing of `main.py`.
`build_released_graph` assembles it from the blocks shared with the `paper`
configuration (`asnet_keras.blocks`); `released_preprocess` and `released_postprocess`
reproduce `main.py`'s image handling without SciPy's removed `imread`/`imresize`.

Every layer that exists in the Keras 2 graph keeps its Keras 2 name (RELEASED_MODEL.md
§1.1, §2.3), so the authors' weight file maps onto this model by name. The seven outputs
get names of this project's scheme through weightless `Identity` layers.

Example:
    >>> import asnet_keras.released as released
    >>> model = released.build_released_graph((224, 224, 3), None, recurrence="stock")
    >>> maps = model.predict(released.released_preprocess(image)[None])
    >>> saliency = released.released_postprocess(maps[-1][0, ..., 0], image.shape[:2])
"""

import keras
import numpy as np

from asnet_keras import blocks
from asnet_keras.layers_released import LearningPrior

INPUT_SIZE = 224  # the released model's fixed input (RELEASED_MODEL.md §2.1)

# §4 step 3: main.py subtracts the caffe means in RGB order, then flips to BGR, so the
# network sees B − 123.68, G − 116.779, R − 103.939 (B and R means swapped w.r.t. caffe).
RELEASED_MEANS = (123.68, 116.779, 103.939)

# Outputs in the released order P, side, Q5, Q4, Q3, Q2, Q1 (RELEASED_MODEL.md §2.2):
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
# and of Keras 2's positional `load_weights` (RELEASED_MODEL.md §5.3).
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
# order (RELEASED_MODEL.md §1.3).
AUTO_NAMED = {
    "batch_normalization": (
        "batch_normalization_1",
        "batch_normalization_2",
        "batch_normalization_3",
        "batch_normalization_4",
    ),
    "learning_prior": ("learning_prior_1",),
}

# Widths read from update_models.py (RELEASED_MODEL.md §1.1).
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
    """The released ASNet network (RELEASED_MODEL.md §1–§2), top to bottom.

    Called by `asnet_keras.model.build_asnet(config="released")`, which has already
    checked `input_shape`. The released model is fixed at 224×224; any multiple of 16
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


# ----------------------------------------------------------------------------------
# Pre- and post-processing of main.py (RELEASED_MODEL.md §4), without SciPy's imresize.


def bytescale(data, cmin=None, cmax=None, high=255, low=0):
    """SciPy 1.0's `bytescale`, in the arithmetic `main.py` ran it with
    (docs/released_pipeline.md §4).

    uint8 passes through. Anything else: v → (v − cmin)·scale + low, clipped to
    [low, high], + 0.5, truncated to uint8, with cmin/cmax the array's minimum/maximum
    by default and scale = (high − low)/(cmax − cmin) (a zero range counts as 1, so a
    constant array maps to `low`).

    The arithmetic dtype is the one NumPy 1.x gave SciPy: a float array is computed in
    its own dtype (float32 for the network's maps): cmax − cmin in that dtype, the scale
    divided in float64 and rounded to it, then the subtraction, product, clip and + 0.5
    in it. Integer arrays are computed in float64. In float64 a float32 map rounds the
    other way on a few values (e.g. 234.4999847 in float32 → 234, 234.5000074 in
    float64 → 235).

    Args:
        data: array of any real dtype.
        cmin, cmax: the values mapped to `low` and `high` (default: data min/max).
        high, low: output range, 0 ≤ low ≤ high ≤ 255.
    Returns:
        uint8 array of data's shape.
    """
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return data
    if not 0 <= low <= high <= 255:
        raise ValueError(f"bytescale: need 0 <= low <= high <= 255, got low={low}, high={high}")
    work = data.dtype.type if data.dtype.kind == "f" else np.float64
    cmin = data.min() if cmin is None else cmin  # array scalars: data's dtype
    cmax = data.max() if cmax is None else cmax
    span = cmax - cmin  # float32 − float32 stays float32, as in SciPy
    if span < 0:
        raise ValueError("bytescale: cmax must not be smaller than cmin")
    scale = work(float(high - low) / (float(span) or 1.0))
    scaled = (data.astype(work, copy=False) - work(cmin)) * scale + work(low)
    return (np.clip(scaled, work(low), work(high)) + work(0.5)).astype(np.uint8)


def _bilinear_coefficients(in_size, out_size):
    """Pillow's BILINEAR resampling weights for one axis, in its 22-bit fixed point.

    The triangle filter is widened by the scale factor when shrinking (antialiasing);
    each output pixel's weights are normalised to sum 1, then rounded to integers of
    2**22 (Pillow ≥ 2.7 `precompute_coeffs` + `normalize_coeffs_8bpc`).
    Returns an int64 (out_size, in_size) matrix.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 1.0 * filter_scale
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for out in range(out_size):
        center = (out + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), in_size)
        taps = np.arange(first, last)
        weights = np.maximum(0.0, 1.0 - np.abs((taps - center + 0.5) * (1.0 / filter_scale)))
        total = weights.sum()
        if total:
            weights = weights / total
        matrix[out, first:last] = weights
    fixed = np.where(matrix < 0, -0.5, 0.5) + matrix * (1 << 22)
    return np.trunc(fixed).astype(np.int64)


def _resample_axis(image, coefficients, axis):
    """One pass of Pillow's 8-bit resampling: integer weighted sum, round, clip."""
    summed = np.tensordot(image.astype(np.int64), coefficients, axes=([axis], [1]))
    summed = np.moveaxis(summed, -1, axis) + (1 << 21)
    return np.clip(summed >> 22, 0, 255).astype(np.uint8)


def pillow_bilinear_resize(image, size):
    """Resize a uint8 (H, W) or (H, W, C) array as Pillow's `resize(size, BILINEAR)`.

    This is what SciPy's removed `imresize(..., interp="bilinear")` did after
    `bytescale` (RELEASED_MODEL.md §4, §7 item 6): horizontal pass first, rounded to
    uint8, then the vertical pass; antialiased when shrinking. Equal, pixel for pixel,
    to Pillow's result (tested against Pillow where it is installed).

    Args:
        image: uint8 array (H, W) or (H, W, C).
        size: (height, width) of the result (note: Pillow's own `size` is (w, h)).
    Returns:
        uint8 array (height, width[, C]).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"pillow_bilinear_resize takes uint8, got {image.dtype}.")
    height, width = (int(v) for v in size)
    if image.shape[1] != width:
        image = _resample_axis(image, _bilinear_coefficients(image.shape[1], width), 1)
    if image.shape[0] != height:
        image = _resample_axis(image, _bilinear_coefficients(image.shape[0], height), 0)
    return image


def released_preprocess(image, size=INPUT_SIZE):
    """main.py's resizing, up to the model input (docs/released_pipeline.md §1).

    A greyscale (H, W) image of any dtype is copied into 3 channels of a float64 array,
    which `imresize` min–max stretches to 0…255 (`bytescale`); an RGB uint8 image is
    used as is (an alpha channel, which main.py cannot handle, is dropped). Then a plain
    stretch (aspect ratio not kept) to size×size with Pillow's antialiased BILINEAR. The
    mean subtraction and the RGB → BGR flip happen inside the model (its `preprocess`
    layer). Pass the array `asnet_keras.released_io.read_image_released` gives: whether
    main.py saw a file as 2-D or 3-D decides the stretch (docs/released_pipeline.md §2).

    Args:
        image: (H, W) or (H, W, 3|4) array, as `imread` gives: 2-D uint8/uint16/float
            for grey files, uint8 for colour.
        size: side of the square result (224 for the released model).
    Returns:
        float32 (size, size, 3) raw RGB values 0–255.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None].astype(np.float64), 3, axis=-1)
    elif image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3]
    else:
        raise ValueError(f"released_preprocess: expected (H, W) or (H, W, 3), got {image.shape}.")
    resized = pillow_bilinear_resize(bytescale(image), (size, size))
    return resized.astype(np.float32)


def released_postprocess(saliency, image_size):
    """main.py's `postprocess_predictions` and `imsave` (RELEASED_MODEL.md §4).

    `bytescale` of the map, Pillow BILINEAR resize to the image size, divide by the
    maximum and multiply by 255, truncate to integers, then `bytescale` again (what
    `imsave` does to a non-uint8 array).

    Args:
        saliency: (h, w) float map, e.g. `saliency_conv1` of one image (224×224).
        image_size: (H, W) of the original image.
    Returns:
        uint8 (H, W) map, minimum 0 and maximum 255 unless the map is constant (then 0).
    """
    saliency = np.asarray(saliency)
    if saliency.ndim == 3 and saliency.shape[-1] == 1:
        saliency = saliency[..., 0]
    resized = pillow_bilinear_resize(bytescale(saliency), image_size)
    peak = int(resized.max())
    if peak == 0:  # main.py divides by zero here; a blank map stays blank
        return np.zeros(resized.shape, dtype=np.uint8)
    stretched = (resized / peak * 255).astype(np.int64)
    return bytescale(stretched)


def load_released(path):
    """Load a converted `released` model file (`.keras`; the registrations are in place
    once this module is imported)."""
    return keras.models.load_model(path, compile=False)
