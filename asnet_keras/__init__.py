"""asnet-keras: ASNet (Wang, Shen, Dong, Borji, CVPR 2018) in Keras 3.

The heavy parts (the model, the losses) import Keras and TensorFlow; they are loaded
lazily, so that ``import asnet_keras.metrics`` stays a pure-numpy import.

Example:
    >>> from asnet_keras import build_asnet
    >>> model = build_asnet((224, 224, 3), backbone_weights="imagenet")
    >>> maps = dict(zip(model.output_names, model.predict(images)))
"""

import os as _os

# TensorFlow's C++ start-up chatter (CPU feature notes, absl warnings) hides our own
# messages on the command line; users can still set the variable themselves.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_LAZY = {
    "build_asnet": "asnet_keras.model",
    "OUTPUT_NAMES": "asnet_keras.model",
    "compile_asnet": "asnet_keras.losses",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'asnet_keras' has no attribute {name!r}")


__all__ = ["build_asnet", "compile_asnet", "OUTPUT_NAMES", "__version__"]
