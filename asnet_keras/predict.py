"""Command line: saliency maps, masks, cut-outs and new backgrounds for images, folder
trees and videos, at their own size.

    python -m asnet_keras.predict photo.jpg --weights runs/paper --out maps --output cutout
    python -m asnet_keras.predict photos/ --recursive --skip-existing --weights runs/paper --out maps
    python -m asnet_keras.predict clip.mp4 --weights runs/paper --out maps --output mask,overlay

The work is done by `asnet_keras.inference.prediction` (images; see its docstring for
what is written) and `asnet_keras.inference.video` (videos); the outputs are
docs/outputs.md's. This module parses the command line. Exit status: 0 if every input
was written, 1 if any failed (each named in a summary at the end), 2 for a usage error.
"""

import argparse
import sys

from asnet_keras._cli import quiet_tensorflow
from asnet_keras.devices import report_devices
from asnet_keras.inference import cropping, outputs, video
from asnet_keras.inference.loading import load_asnet
from asnet_keras.export.contract import EXPORT_COMMAND, artifact_format
from asnet_keras.export.runtimes import open_artifact
from asnet_keras.inference.maps import POSTPROCESS
from asnet_keras.inference.prediction import (  # predict_files: importable from here as before
    DEFAULT_READERS, DEFAULT_WRITERS, predict_files, predict_inputs)  # noqa: F401
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
        prog="python -m asnet_keras.predict",
        description=(
            "Saliency and fixation maps of ASNet for images, folder trees and videos, "
            "written at each input's own size, and what is made of them: a binary mask, "
            "a cut-out with a transparent background, the background replaced or "
            "blurred, an overlay (docs/outputs.md). By default OUT/saliency/<name>.png "
            "and OUT/fixation/<name>.png."
        ),
        epilog=(
            "Examples:\n"
            "  python -m asnet_keras.predict photo.jpg --weights runs/paper --out maps "
            "--output cutout\n"
            "  python -m asnet_keras.predict photos/ --recursive --skip-existing "
            "--weights runs/paper --out maps --output map,mask\n"
            "  python -m asnet_keras.predict clip.mp4 --weights runs/paper --out maps "
            "--output mask,overlay --smooth 0.5\n"
            "  python -m asnet_keras.predict images/ --weights asnet_released.keras "
            "--postprocess released --out maps\n"
            "  python -m asnet_keras.predict images/ --weights asnet.onnx --out maps   "
            "(no Keras model: ONNX Runtime)\n"
            "Exit status: 0 all inputs written, 1 some could not be read (named in a "
            "summary at the end), 2 usage error."
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
    parser.add_argument("--batch-size", type=int, default=4,
                        help="images (or video frames) per forward pass")
    parser.add_argument("--input-size", type=int, default=None,
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
    parser.add_argument("--precision", choices=("f32", "bf16"), default="f32",
                        help="OpenVINO artefacts (.xml) only: 'bf16' computes in bfloat16 on "
                        "CPUs that support it (AVX-512 BF16, AMX): the fastest CPU path "
                        "measured here, maps within about 1e-3 of float32 (README "
                        "'Deployment formats')")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"largest image (or video frame) read, in pixels (default "
                        f"{DEFAULT_MAX_PIXELS:,}, as serve); a 16-bit image counts its decoded "
                        "bytes too; larger files are reported and skipped "
                        "(docs/data_integrity.md §7)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def load_model(path, precision="f32"):
    """A Keras model (`load_asnet`), or for an exported artefact (.onnx, .xml, .tflite,
    SavedModel folder) its runtime (`asnet_keras.export.runtimes.open_artifact`: same
    input, outputs and maps). `precision` "bf16" is for OpenVINO artefacts only."""
    fmt = artifact_format(path)
    if precision != "f32" and fmt != "openvino":
        raise ValueError(f"--precision {precision} applies to OpenVINO artefacts (.xml) "
                         f"only; {path} is not one. Export one with {EXPORT_COMMAND} "
                         "--weights WEIGHTS --format openvino --out asnet.xml")
    if fmt is not None:
        return open_artifact(path, fmt, precision=precision)
    return load_asnet(path)


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    targets, problems = collect_inputs(args.inputs, recursive=args.recursive, out=args.out)
    for message in problems:
        print(f"error: {message}", file=sys.stderr)
    if not targets:
        print("error: no image or video to process", file=sys.stderr)
        return 2 if not problems else 1
    if args.postprocess != "default" and any(t.video for t in targets):
        print("error: --postprocess released reads image files the way main.py did; run "
              "videos with --postprocess default", file=sys.stderr)
        return 2
    kinds = args.output + (("overlay",) if args.overlay and "overlay" not in args.output
                           else ())
    try:
        options = outputs.OutputOptions(
            args.mask_threshold, outputs.parse_background(args.background, args.max_pixels))
        report_devices("asnet_keras.predict")
        model = load_model(args.weights, args.precision)
        summary = predict_inputs(
            model, targets, args.out, outputs=kinds, options=options,
            batch_size=args.batch_size, input_size=args.input_size,
            postprocess=args.postprocess, crops=args.crop or (), max_pixels=args.max_pixels,
            skip_existing=args.skip_existing, progress=not args.quiet,
            readers=args.read_threads, writers=args.write_threads,
            video_codec=args.video_codec, every=args.every, smooth=args.smooth,
            problems=problems)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except atomic_files.OutputWriteError as err:
        print(f"error: {err}\nStopped: the outputs of the inputs before this one are "
              "written.", file=sys.stderr)
        return 1
    lines = summary.lines()
    print(lines[0])
    for line in lines[1:]:
        print(line, file=sys.stderr)
    return 1 if summary.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
