"""asnet-keras: ASNet (Wang, Shen, Dong, Borji, CVPR 2018) in Keras 3.

The public API, loaded lazily on first use (so `import asnet_keras` is instant and
`asnet_keras.metrics` stays a pure-numpy import). Importing the package changes no
environment variable; the `asnet` command quiets TensorFlow's start-up logs.

Example:
    >>> import asnet_keras as ak
    >>> model = ak.build_asnet((224, 224, 3), backbone_weights="imagenet")
    >>> image = ak.read_image("photo.jpg")                       # RGB uint8 (H, W, 3)
    >>> maps = model.predict(ak.resize_to_input(image, 224)[None])
    >>> model = ak.load_asnet("runs/asnet")                       # a trained run
    >>> ak.train(ak.TrainConfig(data="data/prepared", out="runs/asnet"))
    >>> ak.evaluate_model("runs/asnet", "data/prepared", ["ecssd"], out="eval")

Layout (each sub-package's docstring says more):
    io/          image headers, decoding under pixel limits, atomic writes (no TensorFlow)
    model/       which ASNet (`ASNetOptions`), the builder, blocks, losses, variants;
                 released/: the authors' released network, its prior layer, its converter
    layers/      `StaticConvLSTM2D` and weight transfer between graphs
    released/    reading images as the authors' main.py did
    data/        the prepared layout and the `tf.data` pipelines
    training/    config, distribution, Eq. 13 steps, run folder, the resumable loop
    inference/   reading images, the one image → maps path, loading trained models, prediction
    export/      the portable Keras model, the deployment formats, running artefacts
    evaluation/  scoring test sets, pred-dir maps, results files
    metrics/     fixation and salient-object metrics (numpy only)
    reporting/   the paper's tables beside ours, figures (the notebooks' support)
    devices.py   the Keras backend and devices a run uses, and the GPU warning
    extras.py    which extra installs an optional dependency (`MissingExtra` says so)
    commands/    the `asnet` command (`python -m asnet_keras`): one module per subcommand
"""

import importlib
import importlib.metadata
import os
import re


def _version():
    """The version pyproject.toml holds: from the installed package's metadata, or, when
    the package runs from a checkout without being installed (PYTHONPATH), read from that
    checkout's pyproject.toml; "0+unknown" when neither is there (docs/packaging.md §4)."""
    try:
        return importlib.metadata.version("asnet-keras")
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "pyproject.toml")
    try:
        with open(pyproject, encoding="utf-8") as file:
            match = re.search(r'^version = "([^"]+)"$', file.read(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else "0+unknown"


__version__ = _version()

_LAZY = {
    # the model
    "ASNetOptions": "asnet_keras.model.options",
    "build_asnet": "asnet_keras.model.builder",
    "OUTPUT_NAMES": "asnet_keras.names",
    "FINAL_OUTPUT": "asnet_keras.names",
    "compile_asnet": "asnet_keras.model.losses",
    "asnet_losses": "asnet_keras.model.losses",
    # loading and running it
    "load_asnet": "asnet_keras.inference.loading",
    "read_image": "asnet_keras.io",
    "resize_to_input": "asnet_keras.inference.images",
    "upsample": "asnet_keras.inference.images",
    "predict_maps": "asnet_keras.inference.maps",
    "MapPipeline": "asnet_keras.inference.maps",
    "predict_files": "asnet_keras.inference.prediction",
    "export_portable": "asnet_keras.export.portable",
    # training and evaluation
    "TrainConfig": "asnet_keras.training.config",
    "train": "asnet_keras.training.loop",
    "evaluate_model": "asnet_keras.evaluation.api",
    "evaluate_pred_dir": "asnet_keras.evaluation.api",
}


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name] if isinstance(_LAZY[name], tuple) else (_LAZY[name], name)
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'asnet_keras' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = sorted(_LAZY) + ["__version__"]
