"""Saliency and fixation maps for any images, at their original size.

The library side of `asnet predict` (the command line is
`asnet_keras/commands/predict.py`):

    asnet predict photo.jpg scans/ --weights runs/paper --out maps

For every image (JPEG, PNG, BMP, TIFF, WebP; grey, colour or with alpha; any size) it
writes, under OUT:

- `saliency/<name>.png`: the salient-object map (`saliency_conv1`), uint8, image size;
- `fixation/<name>.png`: the fixation map (`fixation`), uint8, image size (not written
  for a model without fixation head);
- `overlay/<name>.jpg` with ``--overlay``: the saliency map in colour over the image;
- `crop-16x9/<name>.png` (one folder per ratio) with ``--crop 16:9,1:1``: the image cut to
  the window of that aspect ratio keeping the most saliency mass
  (`asnet_keras.inference.cropping`, rule in `docs/serving.md §2`), and every box in
  `crops.json`.

`<name>` is the file's stem (a second image with the same stem gets `-2`, `-3`, …).
A folder argument contributes the image files directly inside it, sorted.

Maps come from the one prediction path, `asnet_keras.inference.maps.MapPipeline`, that
the service and evaluation run too: resize to the model input, network, bilinear
upsampling to the image size, uint8 rounding. ``--postprocess released`` instead
reproduces the authors' `main.py` for a model converted from their `ASNet.h5`
(`asnet_keras.model.released`): its image reading (grey files are contrast-stretched to 0…255
before the network, as main.py did; `asnet_keras.io.released_reading`), its input resizing
and its min–max stretched output (`released_preprocess` / `released_postprocess`);
docs/released_pipeline.md.

A file that cannot be read is reported by name on stderr and skipped; the exit status
is 0 if every image was written, 1 if any failed, 2 for a usage error. Every map is
written completely or not at all (temporary file + rename); when the disk is full the
run stops with a message, and a map written by an earlier run under the same name
stays as it was (docs/data_integrity.md §5).
"""

import functools
import os
import sys

import cv2
import numpy as np

from asnet_keras.inference import cropping
from asnet_keras.inference.maps import MapPipeline
from asnet_keras.io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, atomic_files, check_max_pixels


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
                if name.lower().endswith(IMAGE_EXTENSIONS)
                and os.path.isfile(os.path.join(path, name))
            )
            if not found:
                problems.append(f"{path}: folder has no image files "
                                f"({', '.join(IMAGE_EXTENSIONS)})")
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
                  write_overlay=False, progress=True, crops=(), max_pixels=DEFAULT_MAX_PIXELS):
    """Write the maps of `files` under `out`; return `(written, failures)`.

    Args:
        model: a loaded ASNet (`asnet_keras.inference.loading.load_asnet`) or an
            exported artefact (`asnet_keras.export.runtimes.open_artifact`).
        files: image paths.
        out: output folder.
        batch_size: images per forward pass.
        input_size: model input side if the model has none (default 224).
        postprocess: "default" (bilinear upsampling, uint8 rounding) or "released"
            (the authors' main.py pre- and post-processing).
        write_overlay: also write `overlay/<name>.jpg`.
        progress: show a progress bar.
        crops: aspect ratios ("16:9" or `cropping.Aspect`): write each image's crops
            (`cropping.write_crops`) and `out/crops.json`.
        max_pixels: larger images are not read (named in `failures`; decoded bytes count
            too, 16-bit twice: docs/data_integrity.md §7).

    Returns:
        `written`: list of (input path, dict kind → written path); `failures`: list of
        (input path, message).
    """
    from tqdm.auto import tqdm

    pipeline = MapPipeline(model, input_size=input_size, postprocess=postprocess)
    for kind in list(pipeline.outputs) + (["overlay"] if write_overlay else []):
        os.makedirs(os.path.join(out, kind), exist_ok=True)

    max_pixels = check_max_pixels(max_pixels, "--max-pixels")
    read = functools.partial(pipeline.read, max_pixels=max_pixels, name="--max-pixels")

    out_names = dict(zip(files, _unique_names(files)))
    written, failures, boxes = [], [], {}
    stream = pipeline.stream(files, read=read, batch_size=batch_size)
    for path, image, maps in tqdm(stream, total=len(files), unit="img", disable=not progress):
        if maps is None:
            failures.append((path, str(image)))
            print(f"error: {image}", file=sys.stderr)
            continue
        done, rgb = {}, pipeline.as_rgb(image)
        try:
            for kind, array in maps.items():
                done[kind] = _write(out, kind, out_names[path] + ".png", array)
                if kind == "saliency" and write_overlay:
                    done["overlay"] = _write(out, "overlay", out_names[path] + ".jpg",
                                             overlay(rgb, array)[:, :, ::-1])
                if kind == "saliency" and crops:
                    paths, boxes[path] = cropping.write_crops(out, out_names[path], rgb, array,
                                                              crops)
                    done.update(paths)
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
    if crops:
        cropping.write_crop_index(out, boxes)
    return written, failures


def _write(out, kind, filename, array):
    path = os.path.join(out, kind, filename)
    ok, encoded = cv2.imencode(os.path.splitext(filename)[1], array)
    if not ok:
        raise OSError(f"OpenCV could not encode {path}")
    atomic_files.atomic_write_bytes(path, encoded.tobytes())
    return path
