"""Load a trained ASNet from whatever a training run left: one entry point for
evaluation, prediction and export.

Accepted:
    a run folder          its best.keras (as written by `asnet_keras.train`)
    model.keras           Keras 3 native format
    model.h5              legacy HDF5 (whole model)
    model.weights.h5      weights only: the model is rebuilt with `build_asnet` from the
                          config.json next to the file (backbone_weights=None), then the
                          weights are loaded (they match by layer class and build order,
                          KERAS_NOTES.md)

Example:
    >>> model = load_asnet("runs/asnet")          # best.keras of the run
    >>> maps = dict(zip(model.output_names, model.predict(images)))
"""

import importlib
import json
import os

# Modules whose import registers ASNet's custom objects (layers, activations, losses).
_REGISTERING_MODULES = (
    "asnet_keras.blocks",
    "asnet_keras.layers",
    "asnet_keras.layers_released",
    "asnet_keras.released",
    "asnet_keras.losses",
)


def register_custom_objects():
    """Import every module that registers a custom object (skipping absent ones)."""
    for name in _REGISTERING_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def read_run_config(path):
    """The config.json of a run folder, or next to a model file; {} if there is none."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    config_path = os.path.join(folder, "config.json")
    if not os.path.isfile(config_path):
        return {}
    with open(config_path, encoding="utf-8") as f:
        return json.load(f)


def build_from_run_config(config):
    """Rebuild the (untrained) ASNet that a run's config.json describes."""
    from asnet_keras.model import build_asnet

    size = int(config["input_size"])
    options = {
        "fixation_head": bool(config.get("fixation_head", True)),
        "use_convlstm": bool(config.get("use_convlstm", True)),
        "fixation_28": bool(config.get("fixation_28", False)),
    }
    if config.get("recurrence"):
        options["recurrence"] = config["recurrence"]
    if config.get("config") not in (None, "paper"):
        options["config"] = config["config"]
    return build_asnet((size, size, 3), backbone_weights=None, **options)


def load_asnet(path, compile=False):
    """Load an ASNet model from a run folder, `.keras`, legacy `.h5` or `.weights.h5`.

    Args:
        path: see the module docstring.
        compile: passed to `keras.models.load_model` (False by default: evaluation and
            prediction need no optimizer; to train again, compile with
            `asnet_keras.losses.compile_asnet`). Ignored for `.weights.h5`.
    Returns:
        a `keras.Model`.
    Raises:
        ValueError: the path does not exist, has another suffix, or a `.weights.h5` has
            no config.json beside it.
    """
    import keras

    register_custom_objects()
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "best.keras")
        if not os.path.isfile(candidate):
            raise ValueError(
                f"{path} has no best.keras: it is not a finished or running training folder "
                "(python -m asnet_keras.train writes best.keras after its first epoch)."
            )
        path = candidate
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file or run folder.")
    if path.endswith(".weights.h5"):
        config = read_run_config(path)
        if "input_size" not in config:
            raise ValueError(
                f"{path} holds weights only and there is no config.json beside it to say "
                "which ASNet to build; build it with build_asnet(...) and call "
                "model.load_weights(path), or load the .keras file instead."
            )
        model = build_from_run_config(config)
        model.load_weights(path)
        return model
    if path.endswith(".keras") or path.endswith(".h5"):
        return keras.models.load_model(path, compile=compile)
    raise ValueError(f"{path}: pass a run folder, a .keras, a .h5 or a .weights.h5 file.")
