"""Saliency and fixation maps for any images, at their original size.

    python -m asnet_keras.predict photo.jpg scans/ --weights runs/paper --out maps

For every image (JPEG, PNG, BMP, TIFF, WebP; grey, colour or with alpha; any size) it
writes, under OUT:

- `saliency/<name>.png`: the salient-object map (`saliency_conv1`), uint8, image size;
- `fixation/<name>.png`: the fixation map (`fixation`), uint8, image size (not written
  for a model without fixation head);
- `overlay/<name>.jpg` with ``--overlay``: the saliency map in colour over the image.

`<name>` is the file's stem (a second image with the same stem gets `-2`, `-3`, …).
A folder argument contributes the image files directly inside it, sorted.

Maps go through the same pipeline as `asnet_keras.evaluate` (`asnet_keras.inference`):
resize to the model input, network, bilinear upsampling to the image size, uint8
rounding. ``--postprocess released`` instead reproduces the authors' `main.py` for a
model converted from their `ASNet.h5` (`asnet_keras.released`): its input resizing and
its min–max stretched output (`released_preprocess` / `released_postprocess`).

A file that cannot be read is reported by name on stderr and skipped; the exit status
is 0 if every image was written, 1 if any failed, 2 for a usage error. Every map is
written completely or not at all (temporary file + rename); when the disk is full the
run stops with a message, and a map written by an earlier run under the same name
stays as it was (docs/data_integrity.md §5).
"""

import argparse
import os
import sys

import cv2
import numpy as np

from asnet_keras import atomic_files, inference
from asnet_keras.metrics import to_uint8

SALIENCY_OUTPUT = "saliency_conv1"
FIXATION_OUTPUT = "fixation"
POSTPROCESS = ("default", "released")


def collect_inputs(paths):
    """Expand folders (their image files, sorted; not recursive) and keep files as given.

    Returns (files, problems): the files to process, and messages for arguments that
    are neither a file nor a folder with images.
    """
    files, problems = [], []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found = sorted(
                os.path.join(path, name) for name in os.listdir(path)
                if name.lower().endswith(inference.IMAGE_EXTENSIONS)
                and os.path.isfile(os.path.join(path, name))
            )
            if not found:
                problems.append(f"{path}: folder has no image files "
                                f"({', '.join(inference.IMAGE_EXTENSIONS)})")
            files += found
        elif os.path.isfile(path):
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def _unique_names(files):
    names, used = [], {}
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        count = used.get(stem, 0) + 1
        used[stem] = count
        names.append(stem if count == 1 else f"{stem}-{count}")
    return names


def overlay(image, saliency, alpha=0.5):
    """The saliency map (uint8) as a JET colour map blended over the RGB image (uint8)."""
    colour = cv2.applyColorMap(saliency, cv2.COLORMAP_JET)[:, :, ::-1]
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colour.astype(np.float32)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def predict_files(model, files, out, *, batch_size=4, input_size=None, postprocess="default",
                  write_overlay=False, progress=True):
    """Write the maps of `files` under `out`; return `(written, failures)`.

    Args:
        model: a loaded ASNet (`inference.load_model`).
        files: image paths.
        out: output folder.
        batch_size: images per forward pass.
        input_size: model input side if the model has none (default 224).
        postprocess: "default" (bilinear upsampling, uint8 rounding) or "released"
            (the authors' main.py pre- and post-processing).
        write_overlay: also write `overlay/<name>.jpg`.
        progress: show a progress bar.

    Returns:
        `written`: list of (input path, dict kind → written path); `failures`: list of
        (input path, message).
    """
    from tqdm.auto import tqdm

    if postprocess not in POSTPROCESS:
        raise ValueError(f"postprocess={postprocess!r}: pass one of {POSTPROCESS}")
    names = inference.output_names(model)
    if SALIENCY_OUTPUT not in names:
        raise ValueError(f"the model has no '{SALIENCY_OUTPUT}' output (outputs: {names})")
    kinds = {"saliency": SALIENCY_OUTPUT}
    if FIXATION_OUTPUT in names:
        kinds["fixation"] = FIXATION_OUTPUT
    for kind in list(kinds) + (["overlay"] if write_overlay else []):
        os.makedirs(os.path.join(out, kind), exist_ok=True)

    preprocess = None
    if postprocess == "released":
        from asnet_keras import released

        size = inference.model_input_size(model, input_size)
        preprocess = lambda image: released.released_preprocess(image, size)  # noqa: E731

    out_names = dict(zip(files, _unique_names(files)))
    written, failures = [], []
    stream = inference.run_batches(model, files, read=inference.read_image,
                                   batch_size=batch_size, input_size=input_size,
                                   preprocess=preprocess)
    for path, image, maps in tqdm(stream, total=len(files), unit="img", disable=not progress):
        if maps is None:
            failures.append((path, str(image)))
            print(f"error: {image}", file=sys.stderr)
            continue
        shape = image.shape[:2]
        done = {}
        try:
            for kind, output in kinds.items():
                if postprocess == "released":
                    from asnet_keras.released import released_postprocess

                    array = released_postprocess(maps[output], shape)
                else:
                    array = to_uint8(inference.upsample(maps[output], shape))
                done[kind] = _write(out, kind, out_names[path] + ".png", array)
                if kind == "saliency" and write_overlay:
                    done["overlay"] = _write(out, "overlay", out_names[path] + ".jpg",
                                             overlay(image, array)[:, :, ::-1])
        except atomic_files.OutputWriteError as err:
            if err.no_room:
                raise  # every further map would fail the same way: stop the run
            failures.append((path, str(err)))
            print(f"error: {err}", file=sys.stderr)
            continue
        except OSError as err:
            failures.append((path, f"{path}: cannot write its maps ({err})"))
            print(f"error: {path}: cannot write its maps ({err})", file=sys.stderr)
            continue
        written.append((path, done))
    return written, failures


def _write(out, kind, filename, array):
    path = os.path.join(out, kind, filename)
    ok, encoded = cv2.imencode(os.path.splitext(filename)[1], array)
    if not ok:
        raise OSError(f"OpenCV could not encode {path}")
    atomic_files.atomic_write_bytes(path, encoded.tobytes())
    return path


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
                        help="'released': the authors' main.py resizing and min-max "
                        "stretch, for a model converted from their ASNet.h5")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    files, problems = collect_inputs(args.inputs)
    for message in problems:
        print(f"error: {message}", file=sys.stderr)
    if not files:
        print("error: no image to process", file=sys.stderr)
        return 2 if not problems else 1
    try:
        model = inference.load_model(args.weights)
        written, failures = predict_files(
            model, files, args.out, batch_size=args.batch_size, input_size=args.input_size,
            postprocess=args.postprocess, write_overlay=args.overlay, progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except atomic_files.OutputWriteError as err:
        print(f"error: {err}\nStopped: the maps of the images before this one are written.",
              file=sys.stderr)
        return 1
    n_failed = len(failures) + len(problems)
    print(f"{len(written)} of {len(files)} images written to {args.out}/"
          + (f"; {n_failed} failed (see above)" if n_failed else ""))
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
