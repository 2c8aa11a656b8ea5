"""`asnet predict`: saliency and fixation maps for any images, at their original size.

    asnet predict photo.jpg scans/ --weights runs/paper --out maps

The work is done by `asnet_keras.inference.prediction` (see its docstring for what is
written); this module parses the command line. Exit status: 0 if every image was
written, 1 if any could not be read or written, 2 for a usage error (an argument that
is neither an image file nor a folder with images, or weights that cannot be loaded).
"""

import argparse

from asnet_keras.commands import CommandFailed, UsageError, positive, run_command
from asnet_keras.devices import report_devices
from asnet_keras.export.contract import EXPORT_COMMAND
from asnet_keras.export.runtimes import PRECISIONS, open_model
from asnet_keras.inference import cropping
from asnet_keras.inference.maps import POSTPROCESS
from asnet_keras.inference.prediction import collect_inputs, predict_files
from asnet_keras.io import DEFAULT_MAX_PIXELS, atomic_files


def build_parser():
    parser = argparse.ArgumentParser(
        prog="asnet predict",
        description=(
            "Saliency and fixation maps of ASNet for any images, written at each image's "
            "original size: OUT/saliency/<name>.png, OUT/fixation/<name>.png and, with "
            "--overlay, OUT/overlay/<name>.jpg."
        ),
        epilog=(
            "Examples:\n"
            "  asnet predict photo.jpg --weights runs/paper --out maps\n"
            "  asnet predict images/ --weights asnet_released.keras "
            "--postprocess released --out maps\n"
            "  asnet predict images/ --weights asnet.onnx --out maps   "
            "(no Keras model: ONNX Runtime)\n"
            "Exit status: 0 all images written, 1 some could not be read or written "
            "(named on stderr), 2 usage error (a path that does not exist included)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER",
                        help="image files, or folders of images (not recursive)")
    parser.add_argument("--weights", required=True,
                        help="trained model: run folder, .keras, .h5 or .weights.h5; or an "
                        "exported artefact run in its own runtime: .onnx (ONNX Runtime), "
                        ".xml (OpenVINO, float32), .tflite (LiteRT) or a SavedModel folder, "
                        f"written by {EXPORT_COMMAND}")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--batch-size", type=positive(int), default=4, help="images per forward pass")
    parser.add_argument("--input-size", type=positive(int), default=None,
                        help="model input side if the saved model has none (default 224)")
    parser.add_argument("--overlay", action="store_true",
                        help="also write the saliency map over the image (JPEG)")
    parser.add_argument("--postprocess", choices=POSTPROCESS, default="default",
                        help="'released': the authors' main.py reading, resizing and "
                        "min-max stretch, for a model converted from their ASNet.h5 (grey "
                        "images are contrast-stretched before the network, as main.py did)")
    parser.add_argument("--crop", type=cropping.aspects_argument, default=None,
                        metavar="W:H[,W:H...]",
                        help="also write the crop of each aspect ratio that keeps the most "
                        "saliency (e.g. 16:9,1:1) to OUT/crop-16x9/<name>.png, boxes in "
                        "OUT/crops.json")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="OpenVINO artefacts (.xml) only: 'bf16' computes in bfloat16 on "
                        "CPUs that support it (AVX-512 BF16, AMX), maps within about 1e-3 "
                        "of float32; 'auto' (default): float32 for a float IR, bf16 for the "
                        "unquantized rest of an INT8 IR where the CPU supports it "
                        "(docs/deployment.md §6)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"largest image read, in pixels (default {DEFAULT_MAX_PIXELS:,}, "
                        "as serve); a 16-bit image counts its decoded bytes too; larger "
                        "files are reported and skipped (docs/data_integrity.md §7)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args):
    """Write the maps of every image the arguments name; 1 if some failed (named)."""
    files, problems = collect_inputs(args.inputs)
    if problems:  # checked before the model loads: nothing is written
        raise UsageError("; ".join(problems))
    report_devices("asnet predict")
    model = open_model(args.weights, args.precision)
    try:
        written, failures = predict_files(
            model, files, args.out, batch_size=args.batch_size, input_size=args.input_size,
            postprocess=args.postprocess, write_overlay=args.overlay, progress=not args.quiet,
            crops=args.crop or (), max_pixels=args.max_pixels,
        )
    except atomic_files.OutputWriteError as err:
        raise CommandFailed(
            f"{err}\nStopped: the maps of the images before this one are written.") from err
    print(f"{len(written)} of {len(files)} images written to {args.out}/"
          + (f"; {len(failures)} failed (see above)" if failures else ""))
    return 1 if failures else 0


def main(argv=None):
    """`asnet predict`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
