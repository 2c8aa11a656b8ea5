"""Write a trained ASNet as a plain Keras model that loads anywhere, without asnet_keras.

Training, evaluation and prediction use the `static` graph (`StaticConvLSTM2D`, a custom
layer). Other Keras 3 code can load that only after importing this package. This command
rebuilds the same network as the `stock` graph — built-in Keras layers only, the
ConvLSTMs as `keras.layers.ConvLSTM2D` — copies the trained weights into it layer by
layer (by name, `asnet_keras.layers.copy_weights_by_name`), checks that both give the
same maps, and saves it:

    python -m asnet_keras.export runs/exp1/model.weights.h5 --out asnet.keras

(the command line is `asnet_keras.export`; this module does the work).

Anyone can then run it with plain Keras 3 (no custom objects, safe mode on):

    model = keras.models.load_model("asnet.keras", compile=False)
    maps = dict(zip(model.output_names, model.predict(images)))   # raw RGB 0–255 in
    saliency = maps["saliency_conv1"]                               # (n, H, W, 1)

The network options (`ASNetOptions`: input size, heads, ablations) must be those the
weights were trained with. They are taken from the command-line flags where given, else
from the `config.json` beside WEIGHTS (training writes one), else from the layer
structure of the weights themselves (`asnet_keras.model.weight_structure`; the input
size then is the saved model's, or 224 for a weights-only file).
"""

import os

import numpy as np

# Largest output difference accepted between the trained model and the export.
CHECK_TOLERANCE = 1e-4


def export(weights, out, *, input_size=None, fixation_head=None, fixation_28=None,
           use_convlstm=None, config=None, check=True):
    """Save the `stock` (built-ins only) ASNet graph holding `weights` to `out`.

    Args:
        weights: path of a `.weights.h5` file (from either graph), of a whole saved
            model (`.keras`, legacy `.h5`), or of a training run folder (its
            `best.weights.h5`, with the `config.json` beside it).
        out: path ending in `.keras` (recommended) or `.h5` (legacy HDF5).
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None means "as config.json beside `weights` says, else as the
            weights' layer structure says" (module docstring).
    Returns:
        dict with the options used, the layers copied and the largest output difference
        between the source and the written model (`max_abs_difference`).
    Raises:
        ValueError: a path or option is wrong; the message says what to do.
    """
    import keras

    from asnet_keras.layers import copy_weights_by_name

    out = os.fspath(out)
    if not out.endswith((".keras", ".h5")) or out.endswith(".weights.h5"):
        raise ValueError(
            f"--out {out}: name a .keras file (recommended) or a legacy .h5 file; a "
            ".weights.h5 file holds no network, so it cannot be loaded without this package."
        )
    source, options = load_trained(
        weights, input_size=input_size, fixation_head=fixation_head,
        fixation_28=fixation_28, use_convlstm=use_convlstm, config=config,
    )

    stock = options.replace(recurrence="stock").build()
    copied = copy_weights_by_name(source, stock)
    stock.save(out)

    difference = None
    if check:
        reloaded = keras.models.load_model(out, compile=False)
        shape = (1, options.input_size, options.input_size, 3)
        images = np.random.default_rng(0).uniform(0, 255, shape).astype("float32")
        expected = _as_list(source(images, training=False))
        got = _as_list(reloaded(images, training=False))
        # convert_to_numpy: under torch the outputs are tensors that require grad.
        to_numpy = keras.ops.convert_to_numpy
        difference = max(
            float(np.max(np.abs(to_numpy(a) - to_numpy(b)))) for a, b in zip(expected, got)
        )
        if len(expected) != len(got) or difference > CHECK_TOLERANCE:
            raise RuntimeError(
                f"The exported model differs from the trained one by {difference} (more than "
                f"{CHECK_TOLERANCE}); {out} is not trustworthy. Please report this."
            )
    used = {k: v for k, v in options.to_json().items() if k != "recurrence"}
    return {"out": out, "options": used, "layers_copied": len(copied),
            "outputs": list(stock.output_names), "max_abs_difference": difference}


def load_trained(weights, *, input_size=None, fixation_head=None, fixation_28=None,
                 use_convlstm=None, config=None):
    """The trained model at `weights` and its `ASNetOptions` (shared by every format).

    Args:
        weights: a `.weights.h5` file, a whole saved model (`.keras`, legacy `.h5`) or a
            training run folder (its `best.weights.h5` and `config.json`).
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None means "as config.json beside `weights` says, else as the
            weights' layer structure says".
    Returns:
        (keras.Model holding the weights, `ASNetOptions`).
    Raises:
        ValueError: a path or option is wrong; the message says what to do.
    """
    from asnet_keras.inference.loading import read_run_config, register_custom_objects
    from asnet_keras.model.options import ASNetOptions
    from asnet_keras.model.weight_structure import options_from_model, options_from_weights_file

    weights = os.fspath(weights)
    if os.path.isdir(weights):  # a run folder written by `python -m asnet_keras.train`
        weights = os.path.join(weights, "best.weights.h5")
    if not os.path.isfile(weights):
        raise ValueError(
            f"{weights}: no such file. Pass a .weights.h5, .keras or .h5 file, or a "
            "finished training run folder (it holds best.weights.h5)."
        )
    register_custom_objects()
    source = _load_whole_model(weights)
    run_config = read_run_config(weights)
    if "input_size" in run_config:
        options = ASNetOptions.from_json(run_config, source=weights + " (config.json)")
    elif source is not None:
        options = options_from_model(source)
    else:
        options = options_from_weights_file(weights)
    explicit = dict(input_size=input_size, fixation_head=fixation_head,
                    fixation_28=fixation_28, use_convlstm=use_convlstm, config=config)
    options = options.replace(**{k: v for k, v in explicit.items() if v is not None})
    if source is None:
        source = _load_weights_file(weights, options)
    return source, options


def _load_whole_model(path):
    """The model saved at `path` (.keras / legacy .h5), or None for a weights-only file."""
    import keras

    if path.endswith(".weights.h5"):
        return None
    if path.endswith(".h5"):
        import h5py

        with h5py.File(path, "r") as file:
            if "model_config" not in file.attrs:
                return None  # legacy weights-only file: load by topology below
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the fix spelled out
        raise ValueError(
            f"{path}: could not be loaded as a saved model ({error}). Pass the .weights.h5 "
            "file written beside it by training instead, with the matching options."
        ) from error


def _load_weights_file(path, options):
    """Build the graph the file was saved from (`static` first, then `stock`) and load it."""
    errors = []
    for recurrence in ("static", "stock"):
        model = options.replace(recurrence=recurrence).build()
        try:
            model.load_weights(path)
            return model
        except Exception as error:  # noqa: BLE001 - both tried, reported together
            first_line = (str(error).strip().splitlines() or [""])[0]
            errors.append(f"as {recurrence}: {type(error).__name__}: {first_line[:300]}")
    raise ValueError(
        f"{path} does not fit ASNet built with {options} ({'; '.join(errors)}). Pass the "
        "options the weights were trained with (--input-size, --fixation-28, --no-fixation, "
        "--no-convlstm, --variant), or put the training config.json beside the file."
    )


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
