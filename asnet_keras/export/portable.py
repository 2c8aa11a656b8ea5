"""Write a trained ASNet as a plain Keras model that loads anywhere, without asnet_keras.

Training, evaluation and prediction use the `static` graph (`StaticConvLSTM2D`, a custom
layer). Other Keras 3 code can load that only after importing this package.
`export_portable` rebuilds the same network from built-in Keras layers only
(`asnet_keras.export.builtin.builtin_graph`: the ConvLSTMs as `keras.layers.ConvLSTM2D`;
for the `released` network also its prior and its Keras 2 gates), with the trained weights,
saves it, loads the file back and checks that it gives the trained model's maps
(`asnet_keras.export.check`):

    asnet export --weights runs/exp1 --out asnet.keras

Anyone can then run it with plain Keras 3 (no custom objects, safe mode on):

    model = keras.models.load_model("asnet.keras", compile=False)
    maps = dict(zip(model.output_names, model.predict(images)))   # raw RGB 0–255 in
    saliency = maps["saliency_conv1"]                               # (n, H, W, 1)

The network options are those the weights were trained with (`asnet_keras.export.trained`).
"""

import os

import keras

from asnet_keras.export.builtin import builtin_graph, custom_objects
from asnet_keras.export.check import compare_outputs, model_outputs
from asnet_keras.export.contract import PORTABLE_FORMATS, check_images, format_for
from asnet_keras.export.trained import load_trained
from asnet_keras.model.saving import save_model


def export_portable(weights, out, *, input_size=None, fixation_head=None, fixation_28=None,
                    use_convlstm=None, config=None, check=True):
    """Save the ASNet holding `weights` to `out`, built-in Keras layers only.

    Args:
        weights: a `.weights.h5` file (from either graph), a whole saved model (`.keras`,
            legacy `.h5`), or a training run folder (`asnet_keras.export.trained`).
        out: path ending in `.keras` (recommended) or `.h5` (legacy HDF5).
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None means "as config.json beside `weights` says, else as the
            weights' layer structure says".
        check: load the written file back and compare its outputs with the trained
            model's on `check_images` (batch of 2).
    Returns:
        dict: out, format, options (without the recurrence), outputs (names in order),
        layers_copied, differences (output → largest absolute difference, None
        unchecked) and max_abs_difference.
    Raises:
        FileNotFoundError: nothing at `weights`.
        ValueError: a path or option is wrong; the message says what to do.
        RuntimeError: the network still holds an object of this package, or the
            written file does not reproduce the trained model.
    """
    out = os.fspath(out)
    fmt = format_for(out)
    if fmt not in PORTABLE_FORMATS:
        raise ValueError(
            f"--out {out}: name a .keras file (recommended) or a legacy .h5 file; the "
            f"{fmt} format is an artefact (asnet_keras.export.formats.export_artifact)."
        )
    source, options = load_trained(
        weights, input_size=input_size, fixation_head=fixation_head,
        fixation_28=fixation_28, use_convlstm=use_convlstm, config=config,
    )
    stock, copied = builtin_graph(source, options)
    foreign = custom_objects(stock)
    if foreign:
        raise RuntimeError(f"{out}: the network still names {foreign}, so it would not load "
                           "without asnet_keras; nothing was written. Please report this.")
    save_model(stock, out)  # a .h5 the user asked for: without Keras' legacy warning

    differences = None
    if check:
        images = check_images(options.input_size)
        reloaded = keras.models.load_model(out, compile=False)
        differences = compare_outputs(model_outputs(source, images),
                                      model_outputs(reloaded, images), f"{out}: the {fmt} file")
    used = {k: v for k, v in options.to_json().items() if k != "recurrence"}
    return {"out": out, "format": fmt, "options": used, "outputs": list(stock.output_names),
            "layers_copied": len(copied), "differences": differences,
            "max_abs_difference": max(differences.values()) if differences else None}
