"""What every export keeps, written once: the formats and their file names, the names an
artefact's input and signature carry, and the check every written file passes.

    format       written                     runtime that loads it
    keras        FILE.keras                  any Keras 3 (`keras.models.load_model`), no asnet_keras
    h5           FILE.h5 (legacy HDF5)       the same
    keras2       FILE.h5 (Keras 2 HDF5)      tf_keras, TensorFlow ≤ 2.15's tf.keras (`load_model`), no asnet_keras
    saved_model  FOLDER (saved_model.pb …)   TensorFlow / TF Serving: signature "serving_default"
    onnx         FILE.onnx                   ONNX Runtime (and any ONNX consumer)
    openvino     FILE.xml + FILE.bin         OpenVINO
    litert       FILE.tflite                 LiteRT / TFLite interpreter (signature "serving_default")

Every file takes what the Keras model takes: one input `image`, float32 (batch, S, S, 3),
raw RGB pixels 0–255 (VGG16's preprocessing is inside), any batch size; its outputs are
the model's, by name (`fixation`, `saliency_conv5` … `saliency_conv1`). After writing,
each is loaded again (the artefacts by their own runtime, in a fresh process) and run on
`check_images`; every output must be within `CHECK_TOLERANCE` of the Keras model
(docs/deployment.md §2).

Pure Python and numpy: the loaders (`asnet_keras.export.runtimes`) import it without Keras.
"""

import os

import numpy as np

# The command that writes every format (messages name it).
EXPORT_COMMAND = "asnet export"

PORTABLE_FORMATS = ("keras", "h5")  # the `stock` graph, built-in Keras layers only
KERAS2_FORMAT = "keras2"  # the same network for Keras 2 (asnet_keras.export.keras2)
KERAS2_PACKAGE = "tf_keras==2.21.*"  # the Keras 2 that pairs with our TensorFlow (dev extra)
ARTIFACT_FORMATS = ("saved_model", "onnx", "openvino", "litert")  # compiled graphs
FORMATS = PORTABLE_FORMATS + (KERAS2_FORMAT,) + ARTIFACT_FORMATS
# The name each format is written under ("": a SavedModel is a folder). A .h5 name means
# Keras 3's h5 unless --format keras2 says otherwise (the first match wins).
SUFFIXES = {"keras": ".keras", "h5": ".h5", KERAS2_FORMAT: ".h5", "saved_model": "",
            "onnx": ".onnx", "openvino": ".xml", "litert": ".tflite"}
WEIGHTS_ONLY_SUFFIX = ".weights.h5"  # holds no network: never an export

INPUT_NAME = "image"  # the one input of every artefact
SIGNATURE = "serving_default"  # SavedModel and LiteRT signature
METADATA_KEY = "asnet_keras.options"  # ONNX and OpenVINO: the `ASNetOptions` JSON

# Largest output difference accepted between the Keras model and what was written, and
# the fixed input the check runs (measured differences are about 1e-7).
CHECK_TOLERANCE = 1e-4
CHECK_BATCH = 2
CHECK_SEED = 0


def check_images(input_size, batch=CHECK_BATCH, seed=CHECK_SEED):
    """The fixed check input: (batch, S, S, 3) float32, uniform 0–255, drawn from `seed`."""
    shape = (batch, input_size, input_size, 3)
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


def format_for(out, fmt=None):
    """The export format for `out`: `fmt` if given (checked against the name), else read
    off the suffix (.keras, .h5, .onnx, .xml, .tflite).

    Raises:
        ValueError: an unknown format, a name that does not fit it, a `.weights.h5` name,
            or no way to tell.
    """
    out = os.fspath(out)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: pass one of {', '.join(FORMATS)}.")
    if out.endswith(WEIGHTS_ONLY_SUFFIX):
        raise ValueError(
            f"--out {out}: a .weights.h5 file holds no network, so it cannot be loaded "
            "without this package; name a .keras file (recommended), a legacy .h5 file (for "
            "Keras 2 with --format keras2), or an artefact (.onnx, .xml, .tflite, a "
            "SavedModel folder with --format saved_model)."
        )
    if fmt is None:
        for name, suffix in SUFFIXES.items():
            if suffix and out.endswith(suffix):
                return name
        raise ValueError(
            f"--out {out}: cannot tell the format from the name. Use a .keras, .h5, .onnx, "
            ".xml (OpenVINO) or .tflite (LiteRT) name, or pass --format (keras2 writes a "
            ".h5 file for Keras 2, saved_model a folder)."
        )
    if fmt == "saved_model":
        if os.path.isfile(out) or out.endswith(tuple(s for s in SUFFIXES.values() if s)):
            raise ValueError(
                f"--out {out}: a SavedModel is a folder; name a folder (e.g. asnet_savedmodel)."
            )
    elif not out.endswith(SUFFIXES[fmt]):
        raise ValueError(f"--out {out}: the {fmt} format is written to a {SUFFIXES[fmt]} "
                         f"file; name one (e.g. asnet{SUFFIXES[fmt]}).")
    return fmt


def artifact_format(path):
    """The artefact format of an existing `path` by its name (a folder holding
    saved_model.pb is a SavedModel), or None for anything else (a Keras file)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return "saved_model" if os.path.isfile(os.path.join(path, "saved_model.pb")) else None
    suffix = os.path.splitext(path)[1].lower()
    return next((fmt for fmt in ARTIFACT_FORMATS if suffix and SUFFIXES[fmt] == suffix), None)
