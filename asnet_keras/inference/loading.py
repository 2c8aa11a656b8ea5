"""Load a trained ASNet from whatever a training run left: one entry point for
evaluation, prediction and export.

Accepted:
    a run folder          its best.keras (as written by `python -m asnet_keras.train`)
    model.keras           Keras 3 native format
    model.h5              legacy HDF5 (whole model)
    model.weights.h5      weights only: the model is rebuilt from the `ASNetOptions` in
                          the config.json next to the file, or, without one, from the
                          options read off the file's layers
                          (`asnet_keras.model.weight_structure`), then the weights are
                          loaded (they match by layer class and build order,
                          docs/framework_notes.md)

Example:
    >>> model = load_asnet("runs/asnet")          # best.keras of the run
    >>> maps = dict(zip(model.output_names, model.predict(images)))
"""

import importlib
import json
import os

# Modules whose import registers ASNet's custom objects (layers, activations, losses).
_REGISTERING_MODULES = (
    "asnet_keras.model.blocks",
    "asnet_keras.layers",
    "asnet_keras.released",
    "asnet_keras.model.losses",
)


def register_custom_objects():
    """Import every module that registers a custom object."""
    for name in _REGISTERING_MODULES:
        importlib.import_module(name)


def read_run_config(path):
    """The training run's config.json: of a run folder, or beside a model file.

    Returns:
        the parsed dict, or {} when there is none.
    Raises:
        ValueError: the file exists but is not a JSON object.
    """
    if path is None:
        return {}
    path = os.fspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    config_path = os.path.join(folder, "config.json")
    if not os.path.isfile(config_path):
        return {}
    with open(config_path, encoding="utf-8") as f:
        try:
            content = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{config_path}: not valid JSON ({error}); fix or remove it.") from None
    if not isinstance(content, dict):
        raise ValueError(f"{config_path}: expected a JSON object (a training run's config).")
    return content


def options_for(path, *, input_size=None):
    """The `ASNetOptions` of the weights at `path` and where they were read from.

    The config.json beside `path` (or in the run folder) when it names an input size,
    else the layer structure of the weight file (`.weights.h5` or `.keras`), with
    `input_size` (default 224, the paper's) as its input side.

    Returns:
        (options, source): source is "config.json" or "weight structure".
    """
    from asnet_keras.model.options import ASNetOptions
    from asnet_keras.model.weight_structure import options_from_weights_file

    config = read_run_config(path)
    if "input_size" in config:
        options = ASNetOptions.from_json(config, source=_config_path(path))
        if input_size:
            options = options.replace(input_size=int(input_size))
        return options, "config.json"
    weights = os.path.join(path, "best.weights.h5") if os.path.isdir(path) else path
    return options_from_weights_file(weights, input_size=int(input_size or 224)), "weight structure"


def _config_path(path):
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return os.path.join(folder, "config.json")


def load_asnet(path, compile=False):
    """Load an ASNet model from a run folder, `.keras`, legacy `.h5` or `.weights.h5`.

    Args:
        path: see the module docstring.
        compile: passed to `keras.models.load_model` (False by default: evaluation and
            prediction need no optimizer; to train again, compile with
            `asnet_keras.model.losses.compile_asnet`). Ignored for `.weights.h5`.
    Returns:
        a `keras.Model`.
    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: another suffix, a run folder without best.keras, or a `.weights.h5`
            whose architecture can be read neither from a config.json nor from its layers.
    """
    import keras

    register_custom_objects()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path}: no such model. Pass a training run folder (with best.keras), a "
            ".keras file, or a .weights.h5 file (python -m asnet_keras.train writes them)."
        )
    if os.path.isdir(path):
        candidate = os.path.join(path, "best.keras")
        if not os.path.isfile(candidate):
            raise ValueError(
                f"{path} has no best.keras: it is not a finished or running training folder "
                "(python -m asnet_keras.train writes best.keras after its first epoch)."
            )
        path = candidate
    if path.endswith(".weights.h5"):
        options, _ = options_for(path)
        model = options.build()
        model.load_weights(path)
        return model
    if path.endswith(".keras") or path.endswith(".h5"):
        return keras.models.load_model(path, compile=compile)
    raise ValueError(f"{path}: pass a run folder, a .keras, a .h5 or a .weights.h5 file.")
