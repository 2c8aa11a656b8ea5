"""Deployment formats of a trained ASNet: TensorFlow SavedModel, ONNX, OpenVINO IR, LiteRT.

`export_artifact` writes one of the four compiled formats of
`asnet_keras.export.contract` (their names, input, signature and check are defined
there; `keras` and `h5` are `asnet_keras.export.portable`'s) and checks it
(`asnet_keras.export.check.check_artifact`). Every artefact is a compiled graph of the
model's forward pass, with the same contract as the Keras model:

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

Packages: `tensorflow` for saved_model and litert (LiteRT is TensorFlow's converter;
loading uses `ai-edge-litert` when installed, else `tf.lite`), `tf2onnx` + `onnx` (and
`onnxruntime` to check) for onnx, `openvino` for openvino: the `deploy` extra installs
them (TensorFlow: the `cpu` or `gpu` extra), and a missing one is named with its extra;
they are imported when a format is written, so this module imports without them.
Exporting needs the TensorFlow backend (`KERAS_BACKEND=tensorflow`, the default).
"""

import importlib
import json
import os
import shutil
import tempfile

import keras

from asnet_keras.export.check import check_artifact
from asnet_keras.export.contract import (ARTIFACT_FORMATS, INPUT_NAME, METADATA_KEY, SIGNATURE,
                                         format_for)
from asnet_keras.export.openvino_graph import optimise_for_cpu
from asnet_keras.export.trained import load_trained
from asnet_keras.extras import missing_message
from asnet_keras.layers import copy_weights_by_name

ONNX_OPSET = 17

# The modules each format needs for writing, and the extra of pyproject.toml that
# installs each (docs/packaging.md §3).
_WRITE_MODULES = {
    "saved_model": {"tensorflow": "cpu"},
    "onnx": {"tensorflow": "cpu", "tf2onnx": "deploy", "onnx": "deploy"},
    "openvino": {"tensorflow": "cpu", "openvino": "deploy"},
    "litert": {"tensorflow": "cpu"},
}


class FormatUnavailable(RuntimeError):
    """A package the format needs is not installed, or the Keras backend cannot write it."""


def require(fmt):
    """Raise `FormatUnavailable` naming the modules `fmt` needs but lacks, and the extra
    that installs them."""
    if keras.backend.backend() != "tensorflow":
        raise FormatUnavailable(
            f"Writing {fmt} goes through a TensorFlow graph; run the export with "
            f"KERAS_BACKEND=tensorflow (now: {keras.backend.backend()}). The weights file "
            "is the same under every backend."
        )
    for module, extra in _WRITE_MODULES[fmt].items():
        try:
            importlib.import_module(module)  # imported now: writing the format needs it next
        except ModuleNotFoundError as error:
            if error.name != module:
                raise  # the module is there but broken: not a missing extra
            raise FormatUnavailable(f"writing {fmt}: {missing_message(extra, module)}") from None


def serving_function(model):
    """`tf.function` image → {output name: map}, input (None, S, S, 3) float32 `image`."""
    import tensorflow as tf  # optional: only the compiled formats need it (`require`)

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
    import onnx  # optional converters, imported when this format is written (`require`)
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


def write_openvino(model, out, options, optimise=True):
    """OpenVINO IR (.xml + .bin, float32 weights): input `image`, outputs named, in order,
    its graph rewritten exactly for the CPU plugin (`openvino_graph.optimise_for_cpu`,
    docs/deployment.md §6.3; `optimise=False`: as converted, for profiling). Returns the
    rewrites made, {rewrite: count}."""
    import openvino as ov  # optional converter, imported when this format is written

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
    rewrites = optimise_for_cpu(ordered) if optimise else {}
    # compress_to_fp16=False: the default stores weights in float16 (differences ~2e-4).
    ov.save_model(ordered, out, compress_to_fp16=False)
    return rewrites


def write_litert(model, out):
    """LiteRT (.tflite) flatbuffer, TFLite built-in ops only, signature `serving_default`."""
    import tensorflow as tf  # optional: only the compiled formats need it (`require`)

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
    Returns:
        for openvino the graph rewrites made ({rewrite: count}), else None.
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
        return write_openvino(model, out, options)
    elif fmt == "litert":
        write_litert(model, out)
    else:
        raise ValueError(f"{fmt}: not an artefact format ({', '.join(ARTIFACT_FORMATS)}).")


def export_artifact(weights, out, fmt, *, input_size=None, fixation_head=None,
                    fixation_28=None, use_convlstm=None, config=None, check=True):
    """Write the trained ASNet at `weights` as `fmt` at `out`, then check it.

    Args:
        weights: a `.weights.h5`, `.keras` or `.h5` file or a training run folder
            (`asnet_keras.export.trained.load_trained`).
        out: the artefact's path (`format_for`).
        fmt: one of `ARTIFACT_FORMATS`.
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None: from config.json beside `weights`, else from its layers.
        check: run the artefact in its runtime in a fresh process (`check_artifact`).
    Returns:
        dict: out, format, options, outputs (names in order), layers_copied,
        differences (output → largest absolute difference, or None unchecked),
        max_abs_difference, and for openvino graph_rewrites ({rewrite: count}).
    Raises:
        FileNotFoundError: nothing at `weights`. ValueError: a path or option is wrong.
        FormatUnavailable: a package is missing. RuntimeError: the check failed.
    """
    fmt = format_for(out, fmt)
    if fmt not in ARTIFACT_FORMATS:
        raise ValueError(f"{fmt}: use asnet_keras.export.portable.export_portable for "
                         ".keras/.h5.")
    require(fmt)
    source, options = load_trained(
        weights, input_size=input_size, fixation_head=fixation_head,
        fixation_28=fixation_28, use_convlstm=use_convlstm, config=config,
    )
    # The static graph, float32 whatever policy the weights were trained under.
    graph = options.replace(recurrence="static").build()
    copied = copy_weights_by_name(source, graph)
    used = {k: v for k, v in options.to_json().items() if k != "recurrence"}
    rewrites = write_artifact(fmt, graph, out, used)
    differences = None
    if check:
        differences = check_artifact(fmt, out, source, input_size=options.input_size)
    return {"out": os.fspath(out), "format": fmt, "options": used,
            "outputs": list(graph.output_names), "layers_copied": len(copied),
            "differences": differences,
            "max_abs_difference": max(differences.values()) if differences else None,
            **({"graph_rewrites": rewrites} if rewrites is not None else {})}


def _set_metadata(proto, options):
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(options)
    proto.producer_name = "asnet_keras"

