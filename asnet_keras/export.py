"""Write a trained ASNet as a plain Keras model that loads anywhere, without asnet_keras.

Training, evaluation and prediction use the `static` graph (`StaticConvLSTM2D`, a custom
layer). Other Keras 3 code can load that only after importing this package. This command
rebuilds the same network as the `stock` graph — built-in Keras layers only, the
ConvLSTMs as `keras.layers.ConvLSTM2D` — copies the trained weights into it layer by
layer (by name, `asnet_keras.layers.copy_weights_by_name`), checks that both give the
same maps, and saves it:

    python -m asnet_keras.export runs/exp1/model.weights.h5 --out asnet.keras

Anyone can then run it with plain Keras 3 (no custom objects, safe mode on):

    model = keras.models.load_model("asnet.keras", compile=False)
    maps = dict(zip(model.output_names, model.predict(images)))   # raw RGB 0–255 in
    saliency = maps["saliency_conv1"]                               # (n, H, W, 1)

The network options (input size, heads, ablations) must be those the weights were trained
with. They are taken, in this order, from the command-line flags, from a `config.json`
beside WEIGHTS (the training CLI writes one; keys `input_size`, `fixation_28`,
`fixation_head`, `use_convlstm`, `config`), from the model itself when WEIGHTS is a
whole saved model (`.keras` or legacy `.h5`), and otherwise from `build_asnet`'s defaults.
"""

import argparse
import json
import os
import sys

import numpy as np

# Largest output difference accepted between the trained model and the export.
CHECK_TOLERANCE = 1e-4

_OPTION_KEYS = ("input_size", "fixation_head", "fixation_28", "use_convlstm", "config")


def export(weights, out, *, input_size=None, fixation_head=None, fixation_28=None,
           use_convlstm=None, config=None, check=True):
    """Save the `stock` (built-ins only) ASNet graph holding `weights` to `out`.

    Args:
        weights: path of a `.weights.h5` file (from either graph), of a whole saved
            model (`.keras`, legacy `.h5`), or of a training run folder (its
            `best.weights.h5`, with the `config.json` beside it).
        out: path ending in `.keras` (recommended) or `.h5` (legacy HDF5).
        input_size, fixation_head, fixation_28, use_convlstm, config: `build_asnet`
            options; None means "from config.json beside `weights`, or from the saved
            model, or the default".
    Returns:
        dict with the options used, the layers copied and the largest output difference
        between the source and the written model (`max_abs_difference`).
    Raises:
        ValueError: a path or option is wrong; the message says what to do.
    """
    import keras

    from asnet_keras.layers import copy_weights_by_name
    from asnet_keras.model import build_asnet

    weights, out = os.fspath(weights), os.fspath(out)
    if os.path.isdir(weights):  # a run folder written by `python -m asnet_keras.train`
        weights = os.path.join(weights, "best.weights.h5")
    if not os.path.isfile(weights):
        raise ValueError(
            f"{weights}: no such file. Pass a .weights.h5, .keras or .h5 file, or a "
            "finished training run folder (it holds best.weights.h5)."
        )
    if not out.endswith((".keras", ".h5")) or out.endswith(".weights.h5"):
        raise ValueError(
            f"--out {out}: name a .keras file (recommended) or a legacy .h5 file; a "
            ".weights.h5 file holds no network, so it cannot be loaded without this package."
        )

    explicit = dict(input_size=input_size, fixation_head=fixation_head,
                    fixation_28=fixation_28, use_convlstm=use_convlstm, config=config)
    options = _options_from_config_json(weights)
    source = _load_whole_model(weights)
    if source is not None:
        options.update(_options_from_model(source))
    options.update({k: v for k, v in explicit.items() if v is not None})
    build = dict(
        input_shape=(int(options.get("input_size", 224)),) * 2 + (3,),
        backbone_weights=None,
        config=options.get("config", "paper"),
        fixation_head=bool(options.get("fixation_head", True)),
        use_convlstm=bool(options.get("use_convlstm", True)),
        fixation_28=bool(options.get("fixation_28", False)),
    )
    if source is None:
        source = _load_weights_file(weights, build, build_asnet)

    stock = build_asnet(**build, recurrence="stock")
    copied = copy_weights_by_name(source, stock)
    stock.save(out)

    difference = None
    if check:
        reloaded = keras.models.load_model(out, compile=False)
        images = np.random.default_rng(0).uniform(0, 255, (1,) + build["input_shape"])
        images = images.astype("float32")
        expected = _as_list(source(images, training=False))
        got = _as_list(reloaded(images, training=False))
        difference = max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(expected, got)
        )
        if len(expected) != len(got) or difference > CHECK_TOLERANCE:
            raise RuntimeError(
                f"The exported model differs from the trained one by {difference} (more than "
                f"{CHECK_TOLERANCE}); {out} is not trustworthy. Please report this."
            )
    used = {k: build[k] for k in ("config", "fixation_head", "use_convlstm", "fixation_28")}
    used["input_size"] = build["input_shape"][0]
    return {"out": out, "options": used, "layers_copied": len(copied),
            "outputs": list(stock.output_names), "max_abs_difference": difference}


def _options_from_config_json(weights):
    path = os.path.join(os.path.dirname(os.path.abspath(weights)), "config.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as file:
        try:
            data = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error}); fix or remove it.") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with keys such as {_OPTION_KEYS}.")
    return {k: data[k] for k in _OPTION_KEYS if data.get(k) is not None}


def _load_whole_model(path):
    """The model saved at `path` (.keras / legacy .h5), or None for a weights-only file."""
    import keras

    import asnet_keras.layers  # noqa: F401 - registers StaticConvLSTM2D for loading

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


def _options_from_model(model):
    names = set(model.output_names)
    classes = {type(layer).__name__ for layer in model.layers}
    options = {
        "input_size": int(model.input_shape[1]),
        "fixation_head": "fixation" in names,
        "fixation_28": "fixation_conv4" in names,
        "use_convlstm": bool(classes & {"StaticConvLSTM2D", "ConvLSTM2D"}),
    }
    if model.name.startswith("asnet_released"):
        options["config"] = "released"
    return options


def _load_weights_file(path, build, build_asnet):
    """Build the graph the file was saved from (`static` first, then `stock`) and load it."""
    errors = []
    for recurrence in ("static", "stock"):
        model = build_asnet(**build, recurrence=recurrence)
        try:
            model.load_weights(path)
            return model
        except Exception as error:  # noqa: BLE001 - both tried, reported together
            first_line = (str(error).strip().splitlines() or [""])[0]
            errors.append(f"as {recurrence}: {type(error).__name__}: {first_line[:300]}")
    raise ValueError(
        f"{path} does not fit ASNet built with {build} ({'; '.join(errors)}). Pass the "
        "options the weights were trained with (--input-size, --fixation-28, --no-fixation, "
        "--no-convlstm, --variant), or put the training config.json beside the file."
    )


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.export",
        description=(
            "Turn trained ASNet weights into a self-contained Keras model file that any "
            "Keras 3 code can load with keras.models.load_model(FILE, compile=False), "
            "without installing or importing asnet_keras. The network is rebuilt from "
            "built-in layers only (ConvLSTMs as keras.layers.ConvLSTM2D), the weights are "
            "copied in, and the result is checked against the original before you use it."
        ),
        epilog=(
            "Network options not given as flags come from a config.json beside WEIGHTS "
            "(written by training), then from WEIGHTS itself when it is a whole saved "
            "model, then from the defaults (224 px, fixation head, ConvLSTMs, paper "
            "configuration). Example: python -m asnet_keras.export "
            "runs/exp1/model.weights.h5 --out asnet.keras"
        ),
    )
    parser.add_argument(
        "weights", metavar="WEIGHTS",
        help="trained weights: a .weights.h5 file, a whole model saved as .keras or .h5, "
        "or a training run folder (uses its best.weights.h5 and config.json)",
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE",
        help="where to write the model: FILE.keras (recommended) or FILE.h5 (legacy HDF5)",
    )
    parser.add_argument(
        "--input-size", type=int, default=None, metavar="PX",
        help="image side the network was trained at, a multiple of 16 (default 224)",
    )
    parser.add_argument(
        "--variant", choices=("paper", "released"), default=None,
        help="network configuration: 'paper' (default) or 'released' (the authors' network)",
    )
    parser.add_argument(
        "--fixation-28", action="store_true", default=None,
        help="the weights include the ASNet-28x28 output fixation_conv4",
    )
    parser.add_argument(
        "--no-fixation", dest="fixation_head", action="store_false", default=None,
        help="the 'w/o fixation' ablation: no fixation head",
    )
    parser.add_argument(
        "--no-convlstm", dest="use_convlstm", action="store_false", default=None,
        help="the 'w/o convLSTM' ablation: plain convolutions instead of ConvLSTMs",
    )
    parser.add_argument(
        "--no-check", dest="check", action="store_false",
        help="skip reloading the written file and comparing its outputs",
    )
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        report = export(
            args.weights, args.out, input_size=args.input_size,
            fixation_head=args.fixation_head, fixation_28=args.fixation_28,
            use_convlstm=args.use_convlstm, config=args.variant, check=args.check,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {report['out']}: {report['layers_copied']} layers copied, options "
          f"{report['options']}, outputs {report['outputs']}, largest output difference "
          f"{report['max_abs_difference']}")
    print(f"load it with: keras.models.load_model({report['out']!r}, compile=False)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
