"""Deployment formats of a trained ASNet: TensorFlow SavedModel, ONNX, OpenVINO IR, LiteRT.

`python -m asnet_keras.export WEIGHTS --format FORMAT --out PATH` calls `export_artifact`
for the four formats below (`keras` and `h5` are `asnet_keras.model.portable`'s).

    format       written                     runtime that loads it
    saved_model  folder (saved_model.pb …)   TensorFlow / TF Serving: signature "serving_default"
    onnx         FILE.onnx                   ONNX Runtime (and any ONNX consumer)
    openvino     FILE.xml + FILE.bin         OpenVINO
    litert       FILE.tflite                 LiteRT / TFLite interpreter (signature "serving_default")

Every artefact is a compiled graph of the model's forward pass, with the same contract
as the Keras model:

- one input named `image`: float32 (batch, S, S, 3), **raw RGB pixels 0–255** (VGG16's
  preprocessing is inside), S the input size the weights were trained at;
- the batch dimension is free (any batch size; LiteRT's interpreter starts at 1 and is
  resized to the batch it is given);
- the outputs are named as the model's (`fixation`, `saliency_conv5` … `saliency_conv1`,
  plus `fixation_conv4` for ASNet-28×28): SavedModel and LiteRT by signature output
  name, ONNX and OpenVINO by tensor name, and in ONNX and OpenVINO also in the model's
  output order;
- ONNX and OpenVINO carry the network options (`ASNetOptions` JSON) as metadata
  (`asnet_keras.options`).

The graph exported is the default `static` one (`StaticConvLSTM2D`, docs/model.md §1.1),
not the `stock` graph of the portable `.keras` file: a compiled format keeps no Python
classes, so the custom layer costs the user nothing there, while the stock
`ConvLSTM2D`'s time loop is a `While`/`TensorList` program that OpenVINO cannot convert
at all and that computes the input convolution three times (docs/deployment.md §1).

Checking: right after writing, `check_artifact` loads the artefact in its own runtime
in a fresh Python process (`python -m asnet_keras.inference.runtimes`), runs it on a
fixed batch of 2 random images (seed 0, uniform 0–255) and compares every output, by
name, with the Keras model: the largest absolute difference must be ≤ 1e-4
(`CHECK_TOLERANCE`); measured differences are about 1e-7 (docs/deployment.md §2).

Packages: `tensorflow` for saved_model and litert (LiteRT is TensorFlow's converter;
loading uses `ai-edge-litert` when installed, else `tf.lite`), `tf2onnx` + `onnx` (and
`onnxruntime` to check) for onnx, `openvino` for openvino. `make setup` installs them.
Exporting needs the TensorFlow backend (`KERAS_BACKEND=tensorflow`, the default).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

# Every format `python -m asnet_keras.export --format` knows, and the path each writes.
FORMATS = ("keras", "h5", "saved_model", "onnx", "openvino", "litert")
ARTIFACT_FORMATS = ("saved_model", "onnx", "openvino", "litert")
SUFFIXES = {"keras": ".keras", "h5": ".h5", "onnx": ".onnx", "openvino": ".xml",
            "litert": ".tflite", "saved_model": ""}
INPUT_NAME = "image"
SIGNATURE = "serving_default"
METADATA_KEY = "asnet_keras.options"
ONNX_OPSET = 17

# Largest output difference accepted between the Keras model and the artefact, and the
# fixed input the check uses.
CHECK_TOLERANCE = 1e-4
CHECK_BATCH = 2
CHECK_SEED = 0

# pip packages each format needs for writing (import name → package to install).
_WRITE_PACKAGES = {
    "saved_model": {"tensorflow": "tensorflow-cpu"},
    "onnx": {"tensorflow": "tensorflow-cpu", "tf2onnx": "tf2onnx", "onnx": "onnx"},
    "openvino": {"tensorflow": "tensorflow-cpu", "openvino": "openvino"},
    "litert": {"tensorflow": "tensorflow-cpu"},
}


class FormatUnavailable(RuntimeError):
    """A package the format needs is not installed, or the Keras backend cannot write it."""


def format_for(out, fmt=None):
    """The export format for `out`: `fmt` if given (checked against the suffix), else
    guessed from the suffix (.keras, .h5, .onnx, .xml, .tflite).

    Raises:
        ValueError: unknown format, a suffix that does not fit it, or no way to guess.
    """
    out = os.fspath(out)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: pass one of {', '.join(FORMATS)}.")
    if out.endswith(".weights.h5"):
        raise ValueError(
            f"--out {out}: a .weights.h5 file holds no network, so it cannot be loaded "
            "without this package; name a .keras file (recommended), a legacy .h5 file, or "
            "an artefact (.onnx, .xml, .tflite, a SavedModel folder with --format saved_model)."
        )
    if fmt is None:
        for name, suffix in SUFFIXES.items():
            if suffix and out.endswith(suffix) and not out.endswith(".weights.h5"):
                return name
        raise ValueError(
            f"--out {out}: cannot tell the format from the name. Use a .keras, .h5, .onnx, "
            ".xml (OpenVINO) or .tflite (LiteRT) name, or pass --format (saved_model writes "
            "a folder)."
        )
    suffix = SUFFIXES[fmt]
    if fmt == "saved_model":
        if os.path.isfile(out) or out.endswith(tuple(s for s in SUFFIXES.values() if s)):
            raise ValueError(
                f"--out {out}: a SavedModel is a folder; name a folder (e.g. asnet_savedmodel)."
            )
    elif not out.endswith(suffix) or out.endswith(".weights.h5"):
        raise ValueError(f"--out {out}: the {fmt} format is written to a {suffix} file; "
                         f"name one (e.g. asnet{suffix}).")
    return fmt


def check_images(input_size, batch=CHECK_BATCH, seed=CHECK_SEED):
    """The fixed check input: (batch, S, S, 3) float32, uniform 0–255, from `seed`."""
    shape = (batch, input_size, input_size, 3)
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


def require(fmt):
    """Raise `FormatUnavailable` naming the pip packages `fmt` needs but lacks."""
    import importlib.util

    import keras

    if keras.backend.backend() != "tensorflow":
        raise FormatUnavailable(
            f"Writing {fmt} goes through a TensorFlow graph; run the export with "
            f"KERAS_BACKEND=tensorflow (now: {keras.backend.backend()}). The weights file "
            "is the same under every backend."
        )
    missing = [package for module, package in _WRITE_PACKAGES[fmt].items()
               if importlib.util.find_spec(module) is None]
    if missing:
        raise FormatUnavailable(
            f"The {fmt} format needs {', '.join(missing)}: run `make setup` or "
            f"`pip install {' '.join(missing)}`."
        )


def serving_function(model):
    """`tf.function` image → {output name: map}, input (None, S, S, 3) float32 `image`."""
    import tensorflow as tf

    names = list(model.output_names)
    shape = tuple(model.inputs[0].shape[1:])
    spec = tf.TensorSpec((None, *shape), tf.float32, name=INPUT_NAME)

    def serve(image):
        outputs = model(image, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return {name: tf.identity(out, name=name) for name, out in zip(names, outputs)}

    return tf.function(serve, input_signature=[spec]), spec


def write_saved_model(model, out):
    """TensorFlow SavedModel folder with signature `serving_default` (named outputs).

    TF Serving and `tf.saved_model.load(out).signatures["serving_default"](image=x)`
    call it; it returns a dict output name → (batch, h, w, 1) float32.
    """
    import keras

    function, spec = serving_function(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, function.python_function, input_signature=[spec])
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.isfile(os.path.join(out, "saved_model.pb")):
            raise ValueError(f"--out {out}: the folder exists and holds other files; name a "
                             "new folder (an earlier SavedModel there would be replaced).")
        shutil.rmtree(out)
    archive.write_out(out, verbose=False)


def write_onnx(model, out, options):
    """ONNX file (opset 17): input `image` (batch free), outputs named and in model order."""
    import onnx
    import tf2onnx

    function, spec = serving_function(model)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=[spec], opset=ONNX_OPSET)
    graph = proto.graph
    by_name = {value.name: value for value in graph.output}
    missing = [name for name in model.output_names if name not in by_name]
    if missing:
        raise RuntimeError(f"tf2onnx lost the outputs {missing}; got {sorted(by_name)}.")
    ordered = [by_name[name] for name in model.output_names]
    copies = [onnx.ValueInfoProto() for _ in ordered]
    for copy, value in zip(copies, ordered):
        copy.CopyFrom(value)
    del graph.output[:]
    graph.output.extend(copies)
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    _set_metadata(proto, options)
    onnx.checker.check_model(proto)
    onnx.save(proto, out)


def write_openvino(model, out, options):
    """OpenVINO IR (.xml + .bin, float32 weights): input `image`, outputs named, in order."""
    import openvino as ov

    function, _ = serving_function(model)
    converted = ov.convert_model(function.get_concrete_function())
    results = {}
    for result, output in zip(converted.get_results(), converted.outputs):
        for name in output.get_names():
            results[name] = result
    missing = [name for name in model.output_names if name not in results]
    if missing:
        raise RuntimeError(f"OpenVINO lost the outputs {missing}; got {sorted(results)}.")
    ordered = ov.Model([results[name] for name in model.output_names],
                       converted.get_parameters(), "asnet")
    ordered.set_rt_info(json.dumps(options), [METADATA_KEY])
    # compress_to_fp16=False: the default stores weights in float16 (differences ~2e-4).
    ov.save_model(ordered, out, compress_to_fp16=False)


def write_litert(model, out):
    """LiteRT (.tflite) flatbuffer, TFLite built-in ops only, signature `serving_default`."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="asnet_litert_") as folder:
        saved = os.path.join(folder, "saved_model")
        write_saved_model(model, saved)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    with open(out, "wb") as file:
        file.write(flatbuffer)


def write_artifact(fmt, model, out, options):
    """Write `model` (a float32 Keras ASNet) as `fmt` at `out`.

    Args:
        fmt: one of `ARTIFACT_FORMATS`.
        model: the Keras model to export (its forward pass, inference mode).
        out: file or folder path (see `format_for`).
        options: `ASNetOptions.to_json()` of the model, stored as metadata.
    Raises:
        FormatUnavailable: a needed package is missing or the backend is not TensorFlow.
    """
    require(fmt)
    out = os.fspath(out)
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    if fmt == "saved_model":
        write_saved_model(model, out)
    elif fmt == "onnx":
        write_onnx(model, out, options)
    elif fmt == "openvino":
        write_openvino(model, out, options)
    elif fmt == "litert":
        write_litert(model, out)
    else:
        raise ValueError(f"{fmt}: not an artefact format ({', '.join(ARTIFACT_FORMATS)}).")


def check_artifact(fmt, path, model, *, input_size, timeout=600):
    """Run the artefact in its own runtime in a fresh process and compare with `model`.

    The child is `python -m asnet_keras.inference.runtimes PATH --format FMT --inputs
    IN.npy --out OUT.npz` on `check_images(input_size)`.

    Returns:
        dict output name → largest absolute difference from the Keras model.
    Raises:
        RuntimeError: the child failed, an output is missing, a shape differs, or a
            difference exceeds `CHECK_TOLERANCE`.
    """
    images = check_images(input_size)
    expected = model(images, training=False)
    if not isinstance(expected, (list, tuple)):
        expected = [expected]
    expected = {n: np.asarray(v) for n, v in zip(model.output_names, expected)}
    with tempfile.TemporaryDirectory(prefix="asnet_check_") as folder:
        inputs, outputs = os.path.join(folder, "in.npy"), os.path.join(folder, "out.npz")
        np.save(inputs, images)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "asnet_keras.inference.runtimes", os.fspath(path),
                   "--format", fmt, "--inputs", inputs, "--out", outputs]
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                timeout=timeout, check=False)
        if result.returncode != 0 or not os.path.isfile(outputs):
            raise RuntimeError(
                f"{path}: loading it with its runtime in a fresh process failed "
                f"(exit {result.returncode}):\n{result.stderr.strip()[-3000:]}"
            )
        with np.load(outputs) as saved:
            got = {name: saved[name] for name in saved.files}
    differences, problems = {}, []
    for name, want in expected.items():
        if name not in got:
            problems.append(f"output {name!r} is missing (got {sorted(got)})")
            continue
        if got[name].shape != want.shape:
            problems.append(f"output {name!r} has shape {got[name].shape}, Keras {want.shape}")
            continue
        differences[name] = float(np.max(np.abs(got[name].astype("float64") - want)))
    worst = max(differences.values(), default=0.0)
    if problems or worst > CHECK_TOLERANCE:
        detail = "; ".join(problems) or f"largest difference {worst:.3g} > {CHECK_TOLERANCE}"
        raise RuntimeError(
            f"{path}: the {fmt} artefact does not reproduce the Keras model ({detail}); "
            "it is not trustworthy. Please report this."
        )
    return differences


def export_artifact(weights, out, fmt, *, input_size=None, fixation_head=None,
                    fixation_28=None, use_convlstm=None, config=None, check=True):
    """Write the trained ASNet at `weights` as `fmt` at `out`, then check it.

    Args:
        weights: a `.weights.h5`, `.keras` or `.h5` file or a training run folder
            (as for `asnet_keras.model.portable.export`).
        out: the artefact's path (`format_for`).
        fmt: one of `ARTIFACT_FORMATS`.
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None: from config.json beside `weights`, else from its layers.
        check: run the artefact in its runtime in a fresh process (`check_artifact`).
    Returns:
        dict: out, format, options, outputs (names in order), layers_copied,
        differences (output → largest absolute difference, or None unchecked) and
        max_abs_difference.
    Raises:
        ValueError: a path or option is wrong. FormatUnavailable: a package is missing.
        RuntimeError: the check failed.
    """
    from asnet_keras.layers import copy_weights_by_name
    from asnet_keras.model.portable import load_trained

    fmt = format_for(out, fmt)
    if fmt not in ARTIFACT_FORMATS:
        raise ValueError(f"{fmt}: use asnet_keras.model.portable.export for .keras/.h5.")
    require(fmt)
    source, options = load_trained(
        weights, input_size=input_size, fixation_head=fixation_head,
        fixation_28=fixation_28, use_convlstm=use_convlstm, config=config,
    )
    # The static graph, float32 whatever policy the weights were trained under.
    graph = options.replace(recurrence="static").build()
    copied = copy_weights_by_name(source, graph)
    used = {k: v for k, v in options.to_json().items() if k != "recurrence"}
    write_artifact(fmt, graph, out, used)
    differences = None
    if check:
        differences = check_artifact(fmt, out, source, input_size=options.input_size)
    return {"out": os.fspath(out), "format": fmt, "options": used,
            "outputs": list(graph.output_names), "layers_copied": len(copied),
            "differences": differences,
            "max_abs_difference": max(differences.values()) if differences else None}


def _set_metadata(proto, options):
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(options)
    proto.producer_name = "asnet_keras"

