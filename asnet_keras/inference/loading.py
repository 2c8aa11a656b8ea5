"""Load a trained ASNet from whatever a training run left: the one place that decides
which file a path means, for evaluation, prediction, the service and export.

Accepted (`resolve_model_path`):
    a run folder          its best.keras (as written by `asnet train`),
                          else its best.weights.h5 (with the config.json beside it)
    model.keras           Keras 3 native format
    model.h5              legacy HDF5 (whole model; a weights-only .h5 as .weights.h5)
    model.weights.h5      weights only: the model is rebuilt from the `ASNetOptions` in
                          the config.json next to the file, or, without one, from the
                          options read off the file's layers
                          (`asnet_keras.model.weight_structure`), then the weights are
                          loaded (they match by layer class and build order,
                          docs/framework_notes.md §4)

Exported artefacts (.onnx, .xml, .tflite, SavedModel folders) are opened by
`asnet_keras.export.runtimes.open_artifact` instead.

Example:
    >>> model = load_asnet("runs/asnet")          # best.keras of the run
    >>> maps = dict(zip(model.output_names, model.predict(images)))
"""

import importlib
import json
import os

from asnet_keras.model.options import RECURRENCES, ASNetOptions
from asnet_keras.model.weight_structure import options_from_weights_file

# What a training run folder is loaded from, in order of preference: the whole model,
# else its weights (rebuilt from the run's config.json). Both are written every epoch
# (asnet_keras/training/run_folder.py).
RUN_FOLDER_MODELS = ("best.keras", "best.weights.h5")
MODEL_SUFFIXES = (".keras", ".h5")  # `.weights.h5` ends with `.h5` too
WEIGHTS_SUFFIX = ".weights.h5"
_ACCEPTED = ("a training run folder, a .keras, .h5 or .weights.h5 file "
             "(asnet train writes them)")

# Modules whose import registers ASNet's custom objects (layers, activations, losses).
# Imported by name, on first load: they pull in Keras, and this module stays light.
_REGISTERING_MODULES = (
    "asnet_keras.model.blocks",
    "asnet_keras.layers",
    "asnet_keras.model.released",
    "asnet_keras.model.losses",
)


def register_custom_objects():
    """Import every module that registers a custom object."""
    for name in _REGISTERING_MODULES:
        importlib.import_module(name)


def resolve_model_path(path):
    """The file that `path` means: the path itself for a model file, for a training run
    folder the first of `RUN_FOLDER_MODELS` it holds.

    Returns:
        the path of a `.keras`, `.h5` or `.weights.h5` file that exists.
    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: a run folder without a trained model (none of `RUN_FOLDER_MODELS`:
            not a run folder, or its first epoch has not finished), or a file of
            another kind; the message names the path and what to pass instead.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model. Pass {_ACCEPTED}.")
    if os.path.isdir(path):
        for name in RUN_FOLDER_MODELS:
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return candidate
        raise ValueError(
            f"{path} holds no trained model ({' or '.join(RUN_FOLDER_MODELS)}): it is not a "
            "training run folder, or its first epoch has not finished (asnet train "
            "writes them after every epoch). Pass a finished run folder, "
            "or a .keras, .h5 or .weights.h5 file."
        )
    if not path.endswith(MODEL_SUFFIXES):
        raise ValueError(f"{path}: not a Keras model file. Pass {_ACCEPTED}.")
    return path


def read_run_config(path):
    """The training run's config.json: of a run folder, or beside a model file.

    Returns:
        the parsed dict, or {} when there is none.
    Raises:
        ValueError: the file exists but is not a JSON object.
    """
    if path is None:
        return {}
    config_path = _config_path(path)
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
    else the layer structure of the weight file (`.weights.h5` or `.keras`; for a run
    folder the one `resolve_model_path` picks), with `input_size` (default 224, the
    paper's) as its input side.

    Returns:
        (options, source): source is "config.json" or "weight structure".
    """
    config = read_run_config(path)
    if "input_size" in config:
        options = ASNetOptions.from_json(config, source=_config_path(path))
        if input_size:
            options = options.replace(input_size=int(input_size))
        return options, "config.json"
    weights = resolve_model_path(path)
    return options_from_weights_file(weights, input_size=int(input_size or 224)), "weight structure"


def _config_path(path):
    path = os.fspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return os.path.join(folder, "config.json")


def is_weights_only(path):
    """Whether the model file `path` holds weights without a network: a `.weights.h5`,
    or a legacy `.h5` written by `save_weights` (no `model_config` attribute)."""
    path = os.fspath(path)
    if path.endswith(WEIGHTS_SUFFIX):
        return True
    if path.endswith(".h5"):
        import h5py  # imported on use, with Keras: this module stays light

        try:
            with h5py.File(path, "r") as file:
                return "model_config" not in file.attrs
        except OSError as error:
            raise ValueError(f"{path}: not a readable HDF5 file ({error}). Pass "
                             f"{_ACCEPTED}.") from None
    return False


def load_saved_model(path, compile=False):
    """The whole model saved at `path` (`.keras` or legacy `.h5`).

    Raises:
        ValueError: the file cannot be loaded as a model; the message says what to pass.
    """
    import keras  # heavy, imported on use: this module stays light

    register_custom_objects()
    try:
        return keras.models.load_model(path, compile=compile)
    except Exception as error:  # noqa: BLE001 - re-raised with the fix spelled out
        raise ValueError(
            f"{path}: could not be loaded as a saved model ({_first_line(error)}). Pass the "
            ".weights.h5 file written beside it by training instead, with the matching "
            "options."
        ) from error


def load_weights_file(path, options):
    """The network `options` describe, holding the weights of `path` (`.weights.h5`).

    Built as `options.recurrence` says first, then as the other recurrence (the same
    weights load into both graphs, docs/framework_notes.md §4).

    Raises:
        ValueError: the weights fit neither graph; the message lists both errors and the
            options to pass.
    """
    register_custom_objects()
    errors = []
    order = (options.recurrence, *(r for r in RECURRENCES if r != options.recurrence))
    for recurrence in order:
        model = options.replace(recurrence=recurrence).build()
        try:
            model.load_weights(path)
            return model
        except Exception as error:  # noqa: BLE001 - both tried, reported together
            errors.append(f"as {recurrence}: {_first_line(error)}")
    raise ValueError(
        f"{path} does not fit ASNet built with {options} ({'; '.join(errors)}). Pass the "
        "options the weights were trained with (--input-size, --fixation-28, --no-fixation, "
        "--no-convlstm, --variant), or put the training config.json beside the file."
    )


def _first_line(error):
    """"ErrorClass: first line of its message" (at most 300 characters of it)."""
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:300]}"


def load_asnet(path, compile=False):
    """Load an ASNet model from a run folder, `.keras`, legacy `.h5` or `.weights.h5`.

    Args:
        path: see the module docstring (`resolve_model_path` decides the file).
        compile: passed to `keras.models.load_model` (False by default: evaluation and
            prediction need no optimizer; to train again, compile with
            `asnet_keras.model.losses.compile_asnet`). Ignored for weights-only files.
    Returns:
        a `keras.Model`.
    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: another suffix, a run folder without a trained model, a file that
            does not load, or weights whose architecture can be read neither from a
            config.json nor from their layers.
    """
    path = resolve_model_path(path)
    if is_weights_only(path):
        options, _ = options_for(path)
        return load_weights_file(path, options)
    return load_saved_model(path, compile=compile)
