"""Command line: saliency and fixation maps for any images, at their original size.

    python -m asnet_keras.predict photo.jpg scans/ --weights runs/paper --out maps

The work is done by `asnet_keras.inference.prediction` (see its docstring for what is
written); this module parses the command line. Exit status: 0 if every image was
written, 1 if any failed, 2 for a usage error.
"""

import argparse
import sys

from asnet_keras._cli import quiet_tensorflow
from asnet_keras.devices import report_devices
from asnet_keras.inference.loading import load_asnet
from asnet_keras.inference.prediction import POSTPROCESS, collect_inputs, predict_files


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.predict",
        description=(
            "Saliency and fixation maps of ASNet for any images, written at each image's "
            "original size: OUT/saliency/<name>.png, OUT/fixation/<name>.png and, with "
            "--overlay, OUT/overlay/<name>.jpg."
        ),
        epilog=(
            "Examples:\n"
            "  python -m asnet_keras.predict photo.jpg --weights runs/paper --out maps\n"
            "  python -m asnet_keras.predict images/ --weights asnet_released.keras "
            "--postprocess released --out maps\n"
            "Exit status: 0 all images written, 1 some could not be read (named on "
            "stderr), 2 usage error."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER",
                        help="image files, or folders of images (not recursive)")
    parser.add_argument("--weights", required=True,
                        help="trained model: run folder, .keras, .h5 or .weights.h5")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--batch-size", type=int, default=4, help="images per forward pass")
    parser.add_argument("--input-size", type=int, default=None,
                        help="model input side if the saved model has none (default 224)")
    parser.add_argument("--overlay", action="store_true",
                        help="also write the saliency map over the image (JPEG)")
    parser.add_argument("--postprocess", choices=POSTPROCESS, default="default",
                        help="'released': the authors' main.py reading, resizing and "
                        "min-max stretch, for a model converted from their ASNet.h5 (grey "
                        "images are contrast-stretched before the network, as main.py did)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    files, problems = collect_inputs(args.inputs)
    for message in problems:
        print(f"error: {message}", file=sys.stderr)
    if not files:
        print("error: no image to process", file=sys.stderr)
        return 2 if not problems else 1
    try:
        report_devices("asnet_keras.predict")
        model = load_asnet(args.weights)
        written, failures = predict_files(
            model, files, args.out, batch_size=args.batch_size, input_size=args.input_size,
            postprocess=args.postprocess, write_overlay=args.overlay, progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    n_failed = len(failures) + len(problems)
    print(f"{len(written)} of {len(files)} images written to {args.out}/"
          + (f"; {n_failed} failed (see above)" if n_failed else ""))
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
