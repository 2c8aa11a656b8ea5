"""`asnet predict`: saliency maps, masks, cut-outs and new backgrounds for images, folder
trees and videos, at their own size.

    asnet predict photo.jpg --weights runs/paper --out maps --output cutout
    asnet predict photos/ --recursive --skip-existing --weights runs/paper --out maps
    asnet predict clip.mp4 --weights runs/paper --out maps --output mask,overlay

The work is done by `asnet_keras.inference.prediction` (images; see its docstring for
what is written) and `asnet_keras.inference.video` (videos); the outputs are
docs/outputs.md's. This module parses the command line. Exit status: 0 if every input
was written, 1 if any could not be read or written (each named in a summary at the end),
2 for a usage error (an argument that is neither an image, a folder nor a video,
weights that cannot be loaded, a bad option).
"""

import argparse
import sys

from asnet_keras.commands import CommandFailed, UsageError, positive, run_command
from asnet_keras.devices import report_devices
from asnet_keras.export.contract import EXPORT_COMMAND
from asnet_keras.export.runtimes import PRECISIONS, open_model
from asnet_keras.inference import cropping, outputs, video
from asnet_keras.inference.maps import POSTPROCESS
from asnet_keras.inference.prediction import DEFAULT_READERS, DEFAULT_WRITERS, predict_inputs
from asnet_keras.inference.targets import VIDEO_EXTENSIONS, collect_inputs
from asnet_keras.io import DEFAULT_MAX_PIXELS, atomic_files


def _argument(parse):
    """argparse `type=` from a parser raising ValueError (a usage error naming why)."""
    def convert(text):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return convert


def build_parser():
    parser = argparse.ArgumentParser(
        prog="asnet predict",
        description=(
            "Saliency and fixation maps of ASNet for images, folder trees and videos, "
            "written at each input's own size, and what is made of them: a binary mask, "
            "a cut-out with a transparent background, the background replaced or "
            "blurred, an overlay (docs/outputs.md). By default OUT/saliency/<name>.png "
            "and OUT/fixation/<name>.png."
        ),
        epilog=(
            "Examples:\n"
            "  asnet predict photo.jpg --weights runs/paper --out maps "
            "--output cutout\n"
            "  asnet predict photos/ --recursive --skip-existing "
            "--weights runs/paper --out maps --output map,mask\n"
            "  asnet predict clip.mp4 --weights runs/paper --out maps "
            "--output mask,overlay --smooth 0.5\n"
            "  asnet predict images/ --weights asnet_released.keras "
            "--postprocess released --out maps\n"
            "  asnet predict images/ --weights asnet.onnx --out maps   "
            "(no Keras model: ONNX Runtime)\n"
            "Exit status: 0 all inputs written, 1 some could not be read or written (named "
            "in a summary at the end), 2 usage error (a path that does not exist included)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders of images, or video files ("
                        f"{', '.join(VIDEO_EXTENSIONS)})")
    parser.add_argument("--weights", required=True,
                        help="trained model: run folder, .keras, .h5 or .weights.h5; or an "
                        "exported artefact run in its own runtime: .onnx (ONNX Runtime), "
                        ".xml (OpenVINO, float32), .tflite (LiteRT) or a SavedModel folder, "
                        f"written by {EXPORT_COMMAND}")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--output", type=_argument(outputs.parse_outputs),
                        default=outputs.DEFAULT_OUTPUTS, metavar="KIND[,KIND...]",
                        help="what to write, one folder per kind: map (the grey saliency and "
                        "fixation maps; default), mask (0/255 PNG), cutout (RGBA PNG, alpha = "
                        "the saliency map), background (the image over --background), "
                        "overlay (the map in colour over the image)")
    parser.add_argument("--mask-threshold", type=_argument(outputs.parse_threshold),
                        default=outputs.ADAPTIVE, metavar="adaptive|T",
                        help="mask: foreground where the map ≥ 2 × its mean (adaptive, "
                        "default; docs/outputs.md §2) or ≥ the grey level T (1-255)")
    parser.add_argument("--background", default=outputs.DEFAULT_BACKGROUND,
                        metavar="COLOUR|#RRGGBB|blur[:σ]|IMAGE",
                        help="background: a colour name (white, default; black, grey, red, "
                        "…) or #RRGGBB, blur (σ = 2%% of the longer side) or blur:σ "
                        "(pixels), or an image file, resized to cover")
    parser.add_argument("--recursive", action="store_true",
                        help="walk folders' sub-folders; OUT/<kind>/ mirrors the tree "
                        "(hidden files and folders are left out)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="skip inputs whose outputs all exist already (resume an "
                        "interrupted run; outputs are written whole or not at all)")
    parser.add_argument("--batch-size", type=positive(int), default=4,
                        help="images (or video frames) per forward pass")
    parser.add_argument("--input-size", type=positive(int), default=None,
                        help="model input side if the saved model has none (default 224)")
    parser.add_argument("--overlay", action="store_true",
                        help="also write the saliency map over the image (JPEG); the same "
                        "as adding overlay to --output")
    parser.add_argument("--postprocess", choices=POSTPROCESS, default="default",
                        help="'released': the authors' main.py reading, resizing and "
                        "min-max stretch, for a model converted from their ASNet.h5 (grey "
                        "images are contrast-stretched before the network, as main.py did); "
                        "images only")
    parser.add_argument("--crop", type=cropping.aspects_argument, default=None,
                        metavar="W:H[,W:H...]",
                        help="also write the crop of each aspect ratio that keeps the most "
                        "saliency (e.g. 16:9,1:1) to OUT/crop-16x9/<name>.png, boxes in "
                        "OUT/crops.json (images only)")
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="videos: keep one frame in N (the output's rate is the input's "
                        "÷ N; default 1, every frame)")
    parser.add_argument("--smooth", type=float, default=0.0, metavar="β",
                        help="videos: exponential moving average of the maps over frames, "
                        "s = (1-β)·m + β·s_previous, 0 ≤ β < 1 (default 0: off)")
    parser.add_argument("--video-codec", choices=(video.DEFAULT_CODEC, *video.CODECS),
                        default=video.DEFAULT_CODEC,
                        help="videos: auto (mp4v; VP8 for .webm) or a codec; ffv1 and png "
                        "are lossless; a codec the input's container cannot hold is written "
                        "as .mkv")
    parser.add_argument("--read-threads", type=int, default=DEFAULT_READERS, metavar="N",
                        help="threads decoding images while the model runs (default "
                        f"{DEFAULT_READERS}; 0: in the model's thread, no overlap)")
    parser.add_argument("--write-threads", type=int, default=DEFAULT_WRITERS, metavar="N",
                        help="threads upsampling, encoding and writing outputs (default "
                        f"{DEFAULT_WRITERS})")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="OpenVINO artefacts (.xml) only: 'bf16' computes in bfloat16 on "
                        "CPUs that support it (AVX-512 BF16, AMX), maps within about 1e-3 "
                        "of float32; 'auto' (default): float32 for a float IR, bf16 for the "
                        "unquantized rest of an INT8 IR where the CPU supports it "
                        "(docs/deployment.md §6)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"largest image (or video frame) read, in pixels (default "
                        f"{DEFAULT_MAX_PIXELS:,}, as serve); a 16-bit image counts its decoded "
                        "bytes too; larger files are reported and skipped "
                        "(docs/data_integrity.md §7)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args):
    """Write the outputs of every input the arguments name; 1 if some failed (named)."""
    targets, problems = collect_inputs(args.inputs, recursive=args.recursive, out=args.out)
    if problems:  # checked before the model loads: nothing is written
        raise UsageError("; ".join(problems))
    if not targets:
        raise UsageError("no image or video to process")
    if args.postprocess != "default" and any(t.video for t in targets):
        raise UsageError("--postprocess released reads image files the way main.py did; run "
                         "videos with --postprocess default")
    kinds = args.output + (("overlay",) if args.overlay and "overlay" not in args.output
                           else ())
    options = outputs.OutputOptions(
        args.mask_threshold, outputs.parse_background(args.background, args.max_pixels))
    report_devices("asnet predict")
    model = open_model(args.weights, args.precision)
    try:
        summary = predict_inputs(
            model, targets, args.out, outputs=kinds, options=options,
            batch_size=args.batch_size, input_size=args.input_size,
            postprocess=args.postprocess, crops=args.crop or (), max_pixels=args.max_pixels,
            skip_existing=args.skip_existing, progress=not args.quiet,
            readers=args.read_threads, writers=args.write_threads,
            video_codec=args.video_codec, every=args.every, smooth=args.smooth)
    except atomic_files.OutputWriteError as err:
        raise CommandFailed(f"{err}\nStopped: the outputs of the inputs before this one are "
                            "written.") from err
    lines = summary.lines()
    print(lines[0])
    for line in lines[1:]:
        print(line, file=sys.stderr)
    return 1 if summary.failures() else 0


def main(argv=None):
    """`asnet predict`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
