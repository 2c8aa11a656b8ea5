"""Run an exported ASNet artefact in its own runtime, with the Keras model's interface.

`open_artifact(path)` loads what `asnet export --format …` wrote
(the contract it keeps: `asnet_keras.export.contract`):

    FILE.onnx               ONNX Runtime (CPU)
    FILE.xml (+ FILE.bin)   OpenVINO (CPU): a float IR in float32 unless precision="bf16",
                            an INT8 IR with bf16 for its unquantized rest where the CPU has it
    FOLDER (saved_model.pb) TensorFlow's SavedModel loader, signature "serving_default"
    FILE.tflite             LiteRT interpreter (`ai-edge-litert`, else `tf.lite`)
    FILE.h5, fmt="keras2"   `tf_keras.models.load_model` (Keras 2; only when asked by name)

and returns an object that the inference pipeline (`asnet_keras.inference.maps`,
`asnet_keras.inference.prediction`) uses like a Keras model: `inputs[0].shape`
(batch, S, S, 3), `output_names` (the Keras model's names, in its order) and
`predict_on_batch(images)` → list of float32 arrays (batch, h, w, 1). Input: raw RGB
pixels 0–255, float32. `asnet predict --weights asnet.onnx` goes
through here.

A file that is not an artefact of ours (unreadable, truncated, or another network: its
input is not (batch, S, S, 3) or it has no `saliency_conv1` output) raises
`ArtifactError` naming the file and what to pass instead.

This module imports no Keras or TensorFlow unless the artefact needs it (SavedModel,
and LiteRT without `ai-edge-litert`), so the ONNX and OpenVINO paths start in about a
second. It is also the child of the export's fresh-process check
(`asnet_keras.export.check.check_artifact`):

    python -m asnet_keras.export.runtimes asnet.onnx --inputs images.npy --out maps.npz

runs the artefact on an (n, S, S, 3) float32 array and saves each output under its name.
"""

import argparse
import os
import sys

import numpy as np

from asnet_keras.export.contract import (ARTIFACT_FORMATS, EXPORT_COMMAND, INPUT_NAME,
                                         KERAS2_FORMAT, KERAS2_PACKAGE, METADATA_KEY,
                                         SIGNATURE, artifact_format)
from asnet_keras.extras import missing_message
from asnet_keras.inference.loading import load_asnet
from asnet_keras.names import FINAL_OUTPUT, FIXATION_28_OUTPUT, OUTPUT_NAMES

# OpenVINO precision hints; "auto": f32 for a float IR (exact), and for an INT8 IR
# (one holding FakeQuantize nodes, docs/deployment.md §6) bf16 where the CPU supports it.
PRECISIONS = ("auto", "f32", "bf16")
# Output order of the Keras models (paper: P, Q5 … Q1, then ASNet-28×28's map;
# released: P, the conv5 side output, Q5 … Q1), for formats whose outputs are a dict.
_KERAS_ORDER = (OUTPUT_NAMES[0], "saliency_side_conv5", *OUTPUT_NAMES[1:], FIXATION_28_OUTPUT)
_EXPORT_HINT = ("write one with: " + EXPORT_COMMAND
                + " --weights WEIGHTS --format {fmt} --out {path}")


class ArtifactError(ValueError):
    """The file is not a loadable ASNet artefact; the message says which file and why."""


class _Input:
    """Stands in for `keras.Model.inputs[0]`: only its shape is read."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.name = INPUT_NAME


class ArtifactModel:
    """An exported ASNet behind the part of the `keras.Model` interface inference uses.

    Attributes:
        path, format: the artefact and its format ("onnx", "openvino", …).
        inputs: [object with `.shape` == (None, S, S, 3)].
        output_names: output names in the Keras model's order.
        input_size: S.
    """

    format = None

    def __init__(self, path, input_size, output_names):
        self.path = os.fspath(path)
        self.input_size = int(input_size)
        self.inputs = [_Input((None, self.input_size, self.input_size, 3))]
        self.output_names = list(output_names)

    def predict_on_batch(self, images):
        """(n, S, S, 3) raw RGB → list of (n, h, w, 1) float32 maps, in `output_names` order."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        expected = (self.input_size, self.input_size, 3)
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(
                f"{self.path} takes (batch, {self.input_size}, {self.input_size}, 3) images; "
                f"got {images.shape}."
            )
        outputs = self._run(images)
        return [np.asarray(outputs[name], dtype=np.float32) for name in self.output_names]

    def predict(self, images, batch_size=8, verbose=0):
        """Like `keras.Model.predict`: the whole array in batches of `batch_size`."""
        parts = [self.predict_on_batch(images[i:i + batch_size])
                 for i in range(0, len(images), batch_size)]
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.output_names))]

    def __call__(self, images, training=False):
        return self.predict_on_batch(images)

    def _run(self, images):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.path} input {self.inputs[0].shape}>"


def _square_input(path, fmt, shape):
    """S from an input shape (batch, S, S, 3), else ArtifactError (a foreign network)."""
    dims = list(shape)
    if len(dims) == 4 and dims[3] == 3 and isinstance(dims[1], int) and dims[1] == dims[2] \
            and dims[1] > 0:
        return dims[1]
    raise ArtifactError(
        f"{path}: not an ASNet artefact: its input has shape {dims}, ASNet's is "
        f"(batch, S, S, 3) raw RGB; {_EXPORT_HINT.format(fmt=fmt, path=path)}."
    )


def _check_outputs(path, fmt, names):
    if FINAL_OUTPUT not in names:
        raise ArtifactError(
            f"{path}: not an ASNet artefact: it has no '{FINAL_OUTPUT}' output (outputs: "
            f"{list(names)[:10]}); {_EXPORT_HINT.format(fmt=fmt, path=path)}."
        )


def _keras_order(names):
    known = [n for n in _KERAS_ORDER if n in names]
    return known + sorted(n for n in names if n not in known)


def _unreadable(path, fmt, error):
    first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
    return ArtifactError(
        f"{path}: cannot be read as {fmt} ({type(error).__name__}: {first}). The file is "
        f"damaged or of another kind; {_EXPORT_HINT.format(fmt=fmt, path=path)}."
    )


def _missing(fmt, module):
    return ArtifactError(f"running a {fmt} artefact: {missing_message('deploy', module)}")


class OnnxModel(ArtifactModel):
    """An `.onnx` file in ONNX Runtime's CPU execution provider.

    Args:
        threads: intra-op threads (None: ONNX Runtime's default, one per core).
        allow_spinning: let idle worker threads spin (ONNX Runtime's default; the
            benchmarks turn it off so that it does not slow the next model timed).
        require_asnet: refuse a model without ASNet's final output (the benchmarks
            pass False to run the exported VGG16 backbone alone).
    """

    format = "onnx"

    def __init__(self, path, threads=None, allow_spinning=True, require_asnet=True):
        try:
            import onnxruntime  # optional runtime, imported on use: this module stays light
        except ImportError:
            raise _missing("onnx", "onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = int(threads)
        if not allow_spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(
                os.fspath(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - ORT raises several private classes
            raise _unreadable(path, "onnx", error) from error
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ArtifactError(f"{path}: not an ASNet artefact: it has {len(inputs)} inputs, "
                                f"ASNet one; {_EXPORT_HINT.format(fmt='onnx', path=path)}.")
        size = _square_input(path, "onnx", inputs[0].shape)
        names = [o.name for o in self.session.get_outputs()]
        if require_asnet:
            _check_outputs(path, "onnx", names)
        self._input = inputs[0].name
        super().__init__(path, size, names)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def _run(self, images):
        return dict(zip(self.output_names, self.session.run(self.output_names,
                                                            {self._input: images})))


class OpenVINOModel(ArtifactModel):
    """An OpenVINO IR (`.xml` with its `.bin` beside it) on the CPU plugin.

    Args:
        precision: the hint for what is computed in floating point: "f32" (equals
            Keras within 1e-4), "bf16" (faster on CPUs with AVX-512 BF16 or AMX; maps
            differ by about 1e-3), or "auto" (default): "f32" for a float IR, and for
            an INT8 IR "bf16" where the CPU supports it, else "f32". OpenVINO's own
            default on such CPUs is bf16, so it is always set explicitly here.
        threads: inference threads (None: OpenVINO's default).
        require_asnet: as for `OnnxModel`.

    Attributes:
        precision: the hint used ("f32" or "bf16"); quantized: whether the IR is INT8.
    """

    format = "openvino"

    def __init__(self, path, precision="auto", threads=None, require_asnet=True):
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}: pass one of {PRECISIONS}.")
        try:
            import openvino  # optional runtime, imported on use: this module stays light
        except ImportError:
            raise _missing("openvino", "openvino") from None
        path = os.fspath(path)
        weights = os.path.splitext(path)[0] + ".bin"
        if not os.path.isfile(weights):
            raise ArtifactError(
                f"{path}: its weights file {weights} is missing: an OpenVINO model is the "
                ".xml and the .bin written beside it; copy both."
            )
        core = openvino.Core()
        try:
            network = core.read_model(path)
        except Exception as error:  # noqa: BLE001 - OpenVINO raises RuntimeError subclasses
            raise _unreadable(path, "openvino", error) from error
        if len(network.inputs) != 1:
            raise ArtifactError(f"{path}: not an ASNet artefact: it has {len(network.inputs)} "
                                f"inputs; {_EXPORT_HINT.format(fmt='openvino', path=path)}.")
        shape = network.inputs[0].get_partial_shape()
        dims = [d.get_length() if d.is_static else None for d in shape] \
            if shape.rank.is_static else []
        size = _square_input(path, "openvino", dims)
        names = [output.get_any_name() if output.get_names() else "" for output in network.outputs]
        if require_asnet:
            _check_outputs(path, "openvino", names)
        self.quantized = any(op.get_type_name() == "FakeQuantize" for op in network.get_ops())
        if precision == "auto":
            bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            precision = "bf16" if self.quantized and bf16 else "f32"
        config = {"INFERENCE_PRECISION_HINT": precision}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            self.compiled = core.compile_model(network, "CPU", config)
        except Exception as error:  # noqa: BLE001
            raise _unreadable(path, "openvino", error) from error
        self.precision = precision
        self._request = self.compiled.create_infer_request()
        self._outputs = list(self.compiled.outputs)
        super().__init__(path, size, names)
        self.metadata = {}
        if network.has_rt_info([METADATA_KEY]):
            self.metadata[METADATA_KEY] = network.get_rt_info([METADATA_KEY]).astype(str)

    def _run(self, images):
        results = self._request.infer({0: images})
        return {name: np.array(results[output]) for name, output in
                zip(self.output_names, self._outputs)}


class SavedModelModel(ArtifactModel):
    """A TensorFlow SavedModel folder, called through its `serving_default` signature."""

    format = "saved_model"

    def __init__(self, path):
        import tensorflow as tf  # heavy, imported on use: this module stays light

        path = os.fspath(path)
        try:
            loaded = tf.saved_model.load(path)
        except Exception as error:  # noqa: BLE001
            raise _unreadable(path, "saved_model", error) from error
        if SIGNATURE not in loaded.signatures:
            raise ArtifactError(f"{path}: the SavedModel has no '{SIGNATURE}' signature "
                                f"(has {list(loaded.signatures)}).")
        self._loaded = loaded  # keeps the variables alive
        self.signature = loaded.signatures[SIGNATURE]
        specs = self.signature.structured_input_signature[1]
        if list(specs) != [INPUT_NAME]:
            raise ArtifactError(f"{path}: not an ASNet artefact: signature inputs "
                                f"{list(specs)}, ASNet's is '{INPUT_NAME}'.")
        size = _square_input(path, "saved_model", specs[INPUT_NAME].shape.as_list())
        names = list(self.signature.structured_outputs)
        _check_outputs(path, "saved_model", names)
        super().__init__(path, size, _keras_order(names))

    def _run(self, images):
        import tensorflow as tf  # heavy, imported on use: this module stays light

        return {k: v.numpy() for k, v in self.signature(**{INPUT_NAME: tf.constant(images)}).items()}


class LiteRTModel(ArtifactModel):
    """A `.tflite` file in the LiteRT interpreter (signature `serving_default`)."""

    format = "litert"

    def __init__(self, path, threads=None):
        try:  # optional runtimes, imported on use: this module stays light
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            try:
                import tensorflow as tf
            except ImportError:
                raise _missing("litert", "ai_edge_litert") from None
            Interpreter = tf.lite.Interpreter  # noqa: N806
        path = os.fspath(path)
        try:
            self.interpreter = Interpreter(model_path=path, num_threads=threads)
            self.runner = self.interpreter.get_signature_runner(SIGNATURE)
        except Exception as error:  # noqa: BLE001
            raise _unreadable(path, "litert", error) from error
        inputs = self.runner.get_input_details()
        if list(inputs) != [INPUT_NAME]:
            raise ArtifactError(f"{path}: not an ASNet artefact: signature inputs "
                                f"{list(inputs)}, ASNet's is '{INPUT_NAME}'.")
        size = _square_input(path, "litert", [int(d) for d in inputs[INPUT_NAME]["shape"]])
        names = list(self.runner.get_output_details())
        _check_outputs(path, "litert", names)
        super().__init__(path, size, _keras_order(names))

    def _run(self, images):
        return {k: np.array(v) for k, v in self.runner(**{INPUT_NAME: images}).items()}


class Keras2Model(ArtifactModel):
    """A Keras 2 `.h5` model (`--format keras2`) in `tf_keras`, as its users load it."""

    format = KERAS2_FORMAT

    def __init__(self, path):
        try:  # optional runtime, imported on use: this module stays light
            import tf_keras
        except ImportError:
            raise ArtifactError(  # not in the deploy extra: installed with --no-deps
                f"running a {KERAS2_FORMAT} artefact needs tf_keras, which is not "
                f"installed: `pip install --no-deps {KERAS2_PACKAGE}`") from None
        path = os.fspath(path)
        try:
            self.model = tf_keras.models.load_model(path, compile=False)
        except Exception as error:  # noqa: BLE001 - h5py and Keras raise many classes
            raise _unreadable(path, KERAS2_FORMAT, error) from error
        size = _square_input(path, KERAS2_FORMAT, self.model.inputs[0].shape.as_list())
        _check_outputs(path, KERAS2_FORMAT, self.model.output_names)
        super().__init__(path, size, self.model.output_names)

    def _run(self, images):
        outputs = self.model.predict_on_batch(images)
        return dict(zip(self.output_names, outputs if isinstance(outputs, list) else [outputs]))


def open_artifact(path, fmt=None, *, precision="auto", threads=None, **options):
    """Load an exported ASNet artefact; see the module docstring.

    Args:
        path: the .onnx / .xml / .tflite file or the SavedModel folder.
        fmt: its format; None guesses from the name (`artifact_format`; a Keras 2 `.h5`
            is opened only with fmt="keras2").
        precision: OpenVINO only: "auto", "f32" or "bf16" (`OpenVINOModel`).
        threads: ONNX Runtime, OpenVINO and LiteRT: worker threads (None: default).
        options: passed to the runtime class (`OnnxModel(allow_spinning=…)`).
    Raises:
        FileNotFoundError: nothing at `path`.
        ArtifactError: not an artefact of a known format, unreadable, or not ASNet.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder.")
    fmt = fmt or artifact_format(path)
    if fmt == "onnx":
        return OnnxModel(path, threads=threads, **options)
    if fmt == "openvino":
        return OpenVINOModel(path, precision=precision, threads=threads)
    if fmt == "saved_model":
        return SavedModelModel(path)
    if fmt == "litert":
        return LiteRTModel(path, threads=threads)
    if fmt == KERAS2_FORMAT:  # never guessed: a .h5 name is Keras 3's first
        return Keras2Model(path)
    raise ArtifactError(
        f"{path}: not an exported artefact: pass a .onnx, .xml (OpenVINO, with its .bin), "
        f".tflite file or a SavedModel folder ({EXPORT_COMMAND} writes them)."
    )


def check_precision(path, precision):
    """`path`'s artefact format (None for a Keras model), if `precision` suits it:
    "auto" and "f32" for anything, "bf16" for an OpenVINO artefact only; else ValueError."""
    fmt = artifact_format(path)
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision}: pass one of {', '.join(PRECISIONS)}")
    if precision == "bf16" and fmt != "openvino":
        raise ValueError(f"--precision {precision} applies to OpenVINO artefacts (.xml) "
                         f"only; {path} is not one. Export one with {EXPORT_COMMAND} "
                         "--weights WEIGHTS --format openvino --out asnet.xml")
    return fmt


def open_model(path, precision="auto"):
    """What `predict --weights` and `serve --weights` name: a trained Keras model
    (`asnet_keras.inference.loading.load_asnet`: run folder, .keras, .h5, .weights.h5),
    or an exported artefact in its own runtime (`open_artifact`: .onnx, .xml, .tflite,
    SavedModel folder; same input, outputs and maps).

    Args:
        precision: "auto" (f32, and bf16 for an INT8 IR's unquantized rest where the
            CPU supports it), "f32", or "bf16" for an OpenVINO artefact (.xml) only.
    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: a file that is neither, or "bf16" for anything but an OpenVINO
            artefact; the message says what to pass.
    """
    fmt = check_precision(path, precision)
    if fmt is not None:
        return open_artifact(path, fmt, precision=precision)
    return load_asnet(path)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.export.runtimes",
        description=(
            f"Run an ASNet artefact written by `{EXPORT_COMMAND} --format "
            "saved_model|onnx|openvino|litert|keras2` in its own runtime (no Keras 3 model "
            "involved) on a .npy array of images, and save every output under its name in "
            "a .npz file. The export command uses this, in a fresh process, to check each "
            "artefact against the Keras model."
        ),
        epilog="Example: python -m asnet_keras.export.runtimes asnet.onnx --inputs "
               "images.npy --out maps.npz   (images.npy: float32 (n, S, S, 3), RGB 0-255)",
    )
    parser.add_argument("artifact", metavar="ARTEFACT",
                        help=".onnx, .xml (OpenVINO), .tflite file or SavedModel folder")
    parser.add_argument("--format", choices=(*ARTIFACT_FORMATS, KERAS2_FORMAT), default=None,
                        help="the artefact's format (default: from its name)")
    parser.add_argument("--inputs", required=True, metavar="NPY",
                        help="float32 array (n, S, S, 3) of raw RGB images, values 0-255")
    parser.add_argument("--out", required=True, metavar="NPZ",
                        help="where to save the outputs (one array per output name)")
    parser.add_argument("--precision", choices=PRECISIONS, default="f32",
                        help="OpenVINO inference precision hint (default f32; auto: bf16 "
                        "for an INT8 IR where the CPU supports it)")
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        images = np.load(args.inputs)
        model = open_artifact(args.artifact, args.format, precision=args.precision)
        outputs = model.predict_on_batch(images)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    np.savez(args.out, **dict(zip(model.output_names, outputs)))
    print(f"{model.format} {args.artifact}: {len(images)} images → "
          + ", ".join(f"{n} {o.shape}" for n, o in zip(model.output_names, outputs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
