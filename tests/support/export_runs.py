"""Trained-looking ASNets for the export tests, and loading exports where asnet_keras is not.

`write_run` saves a random-weight model the way training leaves one (`.weights.h5` and
`config.json`); `load_elsewhere` runs a loader in a fresh Python process in which
importing `asnet_keras` fails outright, so what loads there needs nothing of ours.
"""

import json
import textwrap

import keras
import numpy as np

from asnet_keras.model.options import ASNetOptions
from tests.support.helpers import run_fresh_python

# Prepended to the child's code: the package is made unimportable (it may be installed
# in the environment in editable mode), and TensorFlow stays quiet.
_NO_ASNET_KERAS = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.modules["asnet_keras"] = None
try:
    import asnet_keras
except ImportError:
    pass
else:
    raise SystemExit("asnet_keras was importable")
"""


def write_run(folder, *, input_size=32, seed=0, **options):
    """A `static` model with random weights, each scaled by a factor in [0.5, 1.5) so that
    no two layers share values, saved as `folder/model.weights.h5` + `config.json`.

    Returns:
        (path of the weights file, the model).
    """
    options = ASNetOptions(input_size=input_size, **options)
    model = options.build()
    rng = np.random.default_rng(seed)
    model.set_weights([w * rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(folder / "model.weights.h5")
    saved = {k: v for k, v in options.to_json().items() if k != "recurrence"}
    (folder / "config.json").write_text(json.dumps(saved))
    return folder / "model.weights.h5", model


def outputs_of(model, images):
    """{output name: float32 array} of a Keras 3 model in inference mode."""
    return {name: keras.ops.convert_to_numpy(value)
            for name, value in zip(model.output_names, model(images, training=False), strict=True)}


def load_elsewhere(code, cwd, timeout=600):
    """Run `code` (dedented) in a fresh process where `asnet_keras` cannot be imported."""
    return run_fresh_python(_NO_ASNET_KERAS + textwrap.dedent(code), cwd, timeout=timeout)
