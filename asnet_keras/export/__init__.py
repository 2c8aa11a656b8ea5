"""Exporting a trained ASNet, and running what was exported (docs/deployment.md).

- `contract`: the formats and their file names, the input `image`, the signature
  `serving_default`, the check's input and tolerance — every export keeps these.
- `trained`: `load_trained`, the float32 model and `ASNetOptions` an export starts from.
- `builtin`: `builtin_graph`, the trained network in built-in Keras layers only (the
  released network's prior and Keras 2 gates included).
- `portable`: `export_portable`, the plain-Keras 3 `.keras`/`.h5` of that network.
- `keras2`: `export_keras2`, the same network as a Keras 2 `.h5` (`tf_keras`, TF ≤ 2.15).
- `formats`: `export_artifact`, SavedModel, ONNX, OpenVINO and LiteRT.
- `openvino_graph`: the exact rewrites of the OpenVINO graph for the CPU plugin (one
  convolution per ConvLSTM gate, upsampling as `Interpolate`), and the gate arithmetic.
- `int8`: INT8 quantization of the OpenVINO IR with NNCF, its calibration images and
  writing (the export with its accuracy check is `asnet_keras.evaluation.quantized`,
  one layer up, since it scores with the evaluation: `asnet export --int8`).
- `check`: comparing what was written with the trained model (fresh process for artefacts).
- `runtimes`: `open_artifact`, an artefact in its own runtime behind the Keras model's
  interface (prediction and the service use it); also the check's child process.
- `api`: `export`, one call for every format (the `export` command is its front:
  `asnet export`).

This file imports nothing, so importing one module of the package costs only that
module: `contract` and `runtimes` import no Keras (an ONNX or OpenVINO artefact runs
without TensorFlow).

Example:
    >>> from asnet_keras.export.api import export
    >>> export("runs/asnet", "asnet.onnx")["max_abs_difference"]     # checked: ≤ 1e-4
"""
