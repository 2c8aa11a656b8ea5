"""`asnet export`: trained ASNet weights as a plain Keras model or a deployment artefact.

    asnet export --weights runs/exp1 --out asnet.keras                      # plain Keras
    asnet export --weights runs/exp1 --format keras2 --out asnet_k2.h5        # Keras 2
    asnet export --weights runs/exp1 --format onnx --out asnet.onnx         # ONNX Runtime
    asnet export --weights runs/exp1 --format openvino --out asnet.xml
    asnet export --weights runs/exp1 --format litert --out asnet.tflite
    asnet export --weights runs/exp1 --format saved_model --out asnet_savedmodel
    asnet export --weights runs/exp1 --format openvino --int8 \
        --calibration data/prepared/thus10k:train --held-out data/prepared/ecssd:test \
        --out asnet_int8.xml

A thin front to `asnet_keras.export` (`asnet_keras.export.api.export` does the work; see
the package docstring; `--int8` is `asnet_keras.evaluation.quantized.export_int8`).
Exit status: 0 written and checked, 1 the export or its check failed (or a package it
needs is missing, or the INT8 model failed its accuracy check: nothing written), 2 a
usage error (a wrong flag, a path that does not exist, options that do not fit the
weights).
"""

import argparse

from asnet_keras.commands import CommandFailed, UsageError, positive, run_command
from asnet_keras.export.contract import (CHECK_TOLERANCE, EXPORT_COMMAND, FORMATS,
                                         KERAS2_FORMAT, PORTABLE_FORMATS, format_for)
from asnet_keras.export.int8 import DEFAULT_CALIBRATION_IMAGES, DEFAULT_MAX_CHANGE
from asnet_keras.inference.loading import resolve_model_path

# How to run each artefact, printed after writing it.
_USAGE = {
    "saved_model": "tf.saved_model.load({out!r}).signatures['serving_default'](image=x)",
    "onnx": "onnxruntime.InferenceSession({out!r}).run(None, {{'image': x}}), or "
            "asnet predict IMAGES --weights {out} --out maps",
    "openvino": "openvino.Core().compile_model({out!r}, 'CPU')(x), or "
                "asnet predict IMAGES --weights {out} --out maps",
    "litert": "ai_edge_litert.interpreter.Interpreter({out!r})"
              ".get_signature_runner()(image=x)",
    KERAS2_FORMAT: "tf_keras.models.load_model({out!r}, compile=False) (or TensorFlow "
                   "2.15's tf.keras)",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog=EXPORT_COMMAND,
        description=(
            "Turn trained ASNet weights into a file you can deploy. By default (--format "
            "keras or h5) a self-contained Keras model file that any Keras 3 code can load "
            "with keras.models.load_model(FILE, compile=False), without installing or "
            "importing asnet_keras: the network rebuilt from built-in layers only "
            "(ConvLSTMs as keras.layers.ConvLSTM2D; for --variant released also its "
            "learned prior and its Keras 2 gates, docs/deployment.md §5). --format keras2 "
            "writes the same network as a Keras 2 .h5 model for tf_keras and TensorFlow <= "
            "2.15 (tf_keras.models.load_model(FILE, compile=False)). The other formats are "
            "compiled graphs for other runtimes: saved_model (TensorFlow / TF Serving, signature "
            "serving_default), onnx (ONNX Runtime), openvino (.xml + .bin, OpenVINO), "
            "litert (.tflite, LiteRT / TFLite). Every artefact takes raw RGB pixels 0-255 "
            "as input 'image' (batch, S, S, 3), any batch size, and has the model's named "
            "outputs (fixation, saliency_conv5 ... saliency_conv1). Each is checked after "
            f"writing: loaded again (an artefact by its own runtime, in a fresh process), "
            f"every output must be within {CHECK_TOLERANCE:g} of the Keras model on a "
            "fixed input."
        ),
        epilog=(
            "Network options not given as flags come from a config.json beside WEIGHTS "
            "(written by training), else from the layer structure of WEIGHTS (input size: "
            "the saved model's, or 224 for a .weights.h5). Examples: "
            f"{EXPORT_COMMAND} --weights runs/exp1 --out asnet.keras; "
            f"{EXPORT_COMMAND} --weights runs/exp1/best.weights.h5 --format onnx --out "
            "asnet.onnx. Exit status: 0 written and checked, 1 the export or its check "
            "failed, 2 usage error. Which format for what: docs/deployment.md."
        ),
    )
    parser.add_argument(
        "--weights", required=True, metavar="WEIGHTS",
        help="trained weights: a training run folder (its best.keras, else its "
        "best.weights.h5, with its config.json), a .weights.h5 file, or a whole model "
        "saved as .keras or .h5",
    )
    parser.add_argument(
        "--out", required=True, metavar="PATH",
        help="where to write it: FILE.keras (default format) or FILE.h5 (legacy HDF5; "
        "Keras 2's with --format keras2); FILE.onnx, FILE.xml (OpenVINO, FILE.bin beside "
        "it), FILE.tflite, or a new FOLDER for saved_model",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None,
        help="keras | h5 | keras2 | saved_model | onnx | openvino | litert (default: from "
        "the --out suffix; a .h5 name means h5, Keras 3's)",
    )
    parser.add_argument(
        "--input-size", type=positive(int), default=None, metavar="PX",
        help="image side the network was trained at, a multiple of 16 (default: as "
        "WEIGHTS says, else 224, the paper's)",
    )
    parser.add_argument(
        "--variant", choices=("paper", "released"), default=None,
        help="network configuration: 'paper' (default) or 'released' (the authors' network; "
        "every format loads without asnet_keras)",
    )
    parser.add_argument(
        "--fixation-28", action="store_true", default=None,
        help="the weights include the ASNet-28x28 output fixation_conv4",
    )
    parser.add_argument(
        "--no-fixation", dest="fixation_head", action="store_false", default=None,
        help="the 'w/o fixation' ablation: no fixation head",
    )
    parser.add_argument(
        "--no-convlstm", dest="use_convlstm", action="store_false", default=None,
        help="the 'w/o convLSTM' ablation: plain convolutions instead of ConvLSTMs",
    )
    parser.add_argument(
        "--no-check", dest="check", action="store_false",
        help="skip loading the written file (in its runtime) and comparing its outputs "
        "(keras2's check needs tf_keras installed)",
    )
    int8 = parser.add_argument_group(
        "INT8 (OpenVINO only; docs/deployment.md §6)",
        "--int8 quantizes the OpenVINO IR with NNCF on calibration images, scores the "
        "float32 and the INT8 model on held-out images with the salient-object measures, "
        "and writes the INT8 IR (with a .json report beside it) only if no measure moves "
        "by more than --max-measure-change; otherwise it prints both and exits 1.")
    int8.add_argument("--int8", action="store_true",
                      help="write an INT8 IR instead of a float32 one (needs nncf)")
    int8.add_argument("--calibration", metavar="DIR|ROOT/DATASET:SPLIT",
                      help="calibration images: a folder of images, or a prepared split, "
                      "e.g. data/prepared/thus10k:train")
    int8.add_argument("--calibration-images", type=positive(int),
                      default=DEFAULT_CALIBRATION_IMAGES, metavar="N",
                      help="calibration images used, spread evenly over the set (default "
                      f"{DEFAULT_CALIBRATION_IMAGES}, NNCF's)")
    int8.add_argument("--held-out", metavar="ROOT/DATASET:SPLIT",
                      help="prepared split with masks to check the INT8 model on, disjoint "
                      "from the calibration images (default: the calibration dataset's "
                      "test split, else its val split)")
    int8.add_argument("--held-out-images", type=positive(int), default=None, metavar="N",
                      help="score only the first N held-out images (default: all)")
    int8.add_argument("--max-measure-change", type=float, default=DEFAULT_MAX_CHANGE,
                      metavar="X", help="largest change allowed in any salient-object "
                      f"measure, float32 → INT8 (default {DEFAULT_MAX_CHANGE:g})")
    return parser


def check_int8_flags(args, fmt):
    """UsageError for INT8 flags without --int8, or --int8 without what it needs."""
    given = [flag for flag, value in (("--calibration", args.calibration),
                                      ("--held-out", args.held_out),
                                      ("--held-out-images", args.held_out_images)) if value]
    if not args.int8:
        if given:
            raise UsageError(f"{', '.join(given)} only apply with --int8.")
        return
    if fmt != "openvino":
        raise UsageError(f"--int8 quantizes an OpenVINO IR: pass --format openvino and an "
                         f".xml --out (got the {fmt} format).")
    if not args.calibration:
        raise UsageError("--int8 needs --calibration: a folder of images or a prepared "
                         "split, e.g. data/prepared/thus10k:train.")


def run_int8(args):
    """--int8: `export_int8`; prints the check's table whether it passes or not."""
    # Imported here: it loads Keras, TensorFlow and the evaluation (seconds).
    from asnet_keras.evaluation.quantized import AccuracyCheckFailed, export_int8
    from asnet_keras.export.formats import FormatUnavailable

    try:
        report = export_int8(
            args.weights, args.out, args.calibration, held_out=args.held_out,
            calibration_images=args.calibration_images, held_out_images=args.held_out_images,
            max_change=args.max_measure_change, input_size=args.input_size,
            fixation_head=args.fixation_head, fixation_28=args.fixation_28,
            use_convlstm=args.use_convlstm, config=args.variant, check=args.check)
    except AccuracyCheckFailed as failure:
        _print_check(failure.report["accuracy_check"])
        raise CommandFailed(str(failure)) from failure
    except FormatUnavailable as error:  # a missing extra or another backend
        raise UsageError(str(error)) from error
    except RuntimeError as error:  # the float32 IR failed its check
        raise CommandFailed(str(error)) from error
    check = report["accuracy_check"]
    _print_check(check)
    print(f"wrote {report['out']} (INT8, {report['calibration']['n_images']} calibration "
          f"images from {report['calibration']['spec']}; report {report['written'][-1]}); "
          f"largest change {check['largest_change']['measure']} "
          f"{check['largest_change']['value']:+.4f}")
    print(f"run it with: {_USAGE['openvino'].format(out=report['out'])}")


def _print_check(check):
    print(f"held-out {check['held_out']['spec']} ({check['int8']['n_images']} images), "
          f"saliency_conv1, float32 and INT8:\n{check['table']}")


def run(args):
    """Export --weights to --out and print how it was checked and how to load it."""
    fmt = format_for(args.out, args.format)
    resolve_model_path(args.weights)
    check_int8_flags(args, fmt)
    if args.int8:
        return run_int8(args)
    # Imported after the usage checks: it loads Keras and TensorFlow (seconds).
    from asnet_keras.export.api import export
    from asnet_keras.export.formats import FormatUnavailable

    try:
        report = export(args.weights, args.out, fmt, input_size=args.input_size,
                        fixation_head=args.fixation_head, fixation_28=args.fixation_28,
                        use_convlstm=args.use_convlstm, config=args.variant, check=args.check)
    except FormatUnavailable as error:  # a missing extra or another backend: as MissingExtra
        raise UsageError(str(error)) from error
    except RuntimeError as error:  # the written file failed its check
        raise CommandFailed(str(error)) from error
    print(f"wrote {report['out']} ({fmt}): {report['layers_copied']} layers copied, options "
          f"{report['options']}, outputs {report['outputs']}")
    if report["differences"] is not None:
        where = ("reloaded" if fmt in PORTABLE_FORMATS
                 else "checked in a fresh process with its runtime")
        print(f"{where} against Keras (batch of 2, tolerance {CHECK_TOLERANCE:g}): largest "
              f"output difference {report['max_abs_difference']:.3g}; per output "
              + ", ".join(f"{k} {v:.2g}" for k, v in report["differences"].items()))
    if fmt in PORTABLE_FORMATS:
        print(f"load it with: keras.models.load_model({report['out']!r}, compile=False)")
    else:
        print(f"run it with: {_USAGE[fmt].format(out=report['out'])}")


def main(argv=None):
    """`asnet export`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
