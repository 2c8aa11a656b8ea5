"""Saliency maps, masks, cut-outs and new backgrounds for any images, at their own size.

The library side of `asnet predict` (the command line is
`asnet_keras/commands/predict.py`; videos are `asnet_keras.inference.video`):

    asnet predict photo.jpg scans/ --weights runs/paper --out maps

For every image (JPEG, PNG, BMP, TIFF, WebP; grey, colour or with alpha; any size) it
writes under OUT, for each output kind asked for (`outputs`, docs/outputs.md §1):

- map (the default): `saliency/<name>.png`, the salient-object map (`saliency_conv1`),
  and `fixation/<name>.png`, the fixation map (not for a model without fixation head),
  uint8 at the image's size;
- mask: `mask/<name>.png`, 0/255 (threshold: docs/outputs.md §2);
- cutout: `cutout/<name>.png`, RGBA, alpha = the saliency map;
- background: `background/<name>.png`, the image over a colour, its own blur or another
  picture (docs/outputs.md §3);
- overlay (also ``--overlay``): `overlay/<name>.jpg`, the saliency map in colour over
  the image;
- with ``--crop 16:9,1:1``: `crop-16x9/<name>.png` (one folder per ratio), the image cut
  to the window of that aspect ratio keeping the most saliency mass
  (`asnet_keras.inference.cropping`, rule in `docs/serving.md §2`), and every box in
  `crops.json`.

`<name>` is the file's stem, or with ``--recursive`` its path relative to the folder
given, so OUT mirrors the input tree; a second input with the same name gets `-2`, `-3`,
… (`asnet_keras.inference.targets`). ``--skip-existing`` skips an image whose outputs
all exist (`targets.OutputPlan.written`: a file at its final name is complete).

Maps come from the one prediction path, `asnet_keras.inference.maps.MapPipeline`, that
the service and evaluation run too: resize to the model input, network, bilinear
upsampling to the image size, uint8 rounding. ``--postprocess released`` instead
reproduces the authors' `main.py` for a model converted from their `ASNet.h5`
(`asnet_keras.model.released`): its image reading (grey files are contrast-stretched to 0…255
before the network, as main.py did; `asnet_keras.io.released_reading`), its input resizing
and its min–max stretched output (`released_preprocess` / `released_postprocess`);
docs/released_pipeline.md.

The work overlaps (docs/outputs.md §5): `readers` threads decode and resize the next
images while the model runs a batch, `writers` threads upsample, render, encode and
write the previous ones; the queues between them are bounded, so memory stays flat over
any number of images.

A file that cannot be read is reported by name on stderr and skipped (and listed again
by the command at the end); every output is written completely or not at all
(temporary file + rename); when the disk is full the run stops with a message, and an
output written by an earlier run under the same name stays as it was
(docs/data_integrity.md §5).
"""

import dataclasses
import functools
import os
import sys

import numpy as np

from asnet_keras.inference import cropping, overlap, video
from asnet_keras.inference.maps import MAP_KINDS, MapPipeline, model_kinds
from asnet_keras.inference.outputs import DEFAULT_OUTPUTS, OutputOptions, parse_outputs
from asnet_keras.inference.targets import OutputPlan, Target, stem, unique_names
from asnet_keras.io import DEFAULT_MAX_PIXELS, atomic_files, check_max_pixels, write_image
from asnet_keras.parameters import check_int

DEFAULT_READERS = 2
DEFAULT_WRITERS = 2
MAX_BATCH = 1024


class PredictionReport(tuple):
    """What `predict_files` did. Unpacks as `(written, failures)`, as it always did.

    Attributes:
        written: list of (input path, dict folder-kind → written path), in input order.
        failures: list of (input path, message).
        skipped: input paths whose outputs were all written already (``skip_existing``).
    """

    def __new__(cls, written, failures, skipped=()):
        report = super().__new__(cls, (written, failures))
        report.written, report.failures, report.skipped = written, failures, list(skipped)
        return report


def as_targets(files):
    """Paths (named by their stem, repeats `-2`, `-3`, …) or `Target`s → `Target`s."""
    if all(isinstance(f, Target) for f in files):
        return list(files)
    paths = [os.fspath(f) for f in files]
    return [Target(p, n) for p, n in zip(paths, unique_names([stem(p) for p in paths]))]


def map_pipeline(model, outputs, *, input_size=None, postprocess="default"):
    """The `MapPipeline` for `outputs`: every map of the model when "map" is asked for,
    else the saliency map alone (all the other outputs are made of it)."""
    kinds = model_kinds(model)
    if "map" not in outputs:
        kinds = {"saliency": MAP_KINDS["saliency"]}
    return MapPipeline(model, kinds, input_size=input_size, postprocess=postprocess)


def write_outputs(plan, pipeline, options, target, image, raw):
    """Finish one image's maps and write every output of `plan` for it (a writer job).

    Returns:
        (dict folder-kind → written path, list of crop boxes).
    """
    maps = pipeline.finish(raw, np.shape(image)[:2])
    rgb = pipeline.as_rgb(image)
    done, boxes = {}, []
    for kind in plan.outputs:
        if kind == "map":
            for key, array in maps.items():
                done[key] = write_image(plan.path(key, target), array)
        else:
            array = options.render(kind, rgb, maps["saliency"])
            done[kind] = write_image(plan.path(kind, target), array)
    if plan.crops:
        paths, boxes = cropping.write_crops(plan.out, target.name, rgb, maps["saliency"],
                                            plan.crops)
        done.update(paths)
    return done, boxes


def predict_files(model, files, out, *, batch_size=4, input_size=None, postprocess="default",
                  write_overlay=False, progress=True, crops=(), max_pixels=DEFAULT_MAX_PIXELS,
                  outputs=DEFAULT_OUTPUTS, options=None, skip_existing=False,
                  readers=DEFAULT_READERS, writers=DEFAULT_WRITERS):
    """Write the outputs of the image `files` under `out`; return a `PredictionReport`.

    Args:
        model: a loaded ASNet (`asnet_keras.inference.loading.load_asnet`) or an
            exported artefact (`asnet_keras.export.runtimes.open_artifact`).
        files: image paths (named by their stem), or `targets.Target`s (named by
            `collect_inputs`, e.g. mirroring a tree).
        out: output folder.
        batch_size: images per forward pass.
        input_size: model input side if the model has none (default 224).
        postprocess: "default" (bilinear upsampling, uint8 rounding) or "released"
            (the authors' main.py pre- and post-processing).
        write_overlay: also write `overlay/<name>.jpg` (as "overlay" in `outputs`).
        progress: show a progress bar.
        crops: aspect ratios ("16:9" or `cropping.Aspect`): write each image's crops
            (`cropping.write_crops`) and `out/crops.json`.
        max_pixels: larger images are not read (named in `failures`; decoded bytes count
            too, 16-bit twice: docs/data_integrity.md §7).
        outputs: output kinds (`outputs.OUTPUT_KINDS`, or "map,mask"), default maps.
        options: `outputs.OutputOptions` (mask threshold, background); default adaptive
            threshold, white background.
        skip_existing: do not read an image whose outputs are all written already.
        readers, writers: threads decoding (0: in the caller's thread) and writing
            (≥ 1) while the model runs (docs/outputs.md §5).

    Returns:
        `PredictionReport`: unpacks as `(written, failures)` — `written`: list of (input
        path, dict folder-kind → written path) in input order; `failures`: list of
        (input path, message) — and has `skipped`.

    Raises:
        atomic_files.OutputWriteError: the disk is full (every further output would fail).
    """
    outputs = parse_outputs(outputs)
    batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH, flag="--batch-size")
    if write_overlay and "overlay" not in outputs:
        outputs += ("overlay",)
    pipeline = map_pipeline(model, outputs, input_size=input_size, postprocess=postprocess)
    plan = OutputPlan(out, pipeline.outputs, outputs, crops)
    plan.remove_stale_temporaries()
    return _predict_images(pipeline, plan, as_targets(files), out, options=options,
                           batch_size=batch_size, max_pixels=max_pixels,
                           skip_existing=skip_existing, readers=readers, writers=writers,
                           progress=progress)


def _predict_images(pipeline, plan, targets, out, *, options, batch_size, max_pixels,
                    skip_existing, readers, writers, progress):
    """`predict_files` once its pipeline and output plan are made (and the plan's stale
    temporaries removed): read, run and write `targets` (`targets.Target`s)."""
    from tqdm.auto import tqdm

    readers = check_int("readers", readers, 0, overlap.MAX_WORKERS, flag="--read-threads")
    writers = check_int("writers", writers, 1, overlap.MAX_WORKERS, flag="--write-threads")
    options = options or OutputOptions()
    max_pixels = check_max_pixels(max_pixels, "--max-pixels")
    done_before = [skip_existing and plan.written(t) for t in targets]
    skipped = [t.path for t, done in zip(targets, done_before) if done]
    todo = [t for t, done in zip(targets, done_before) if not done]
    read = functools.partial(pipeline.read, max_pixels=max_pixels, name="--max-pixels")

    written, failures, boxes = [], [], {}
    bar = tqdm(total=len(todo), unit="img", disable=not progress)

    def collect(results):
        for target, result, error in results:
            bar.update(1)
            if error is None:
                written.append((target.path, result[0]))
                if plan.crops:
                    boxes[target.path] = result[1]
            elif isinstance(error, atomic_files.OutputWriteError) and error.no_room:
                raise error  # every further output would fail the same way: stop the run
            else:
                fail(target.path, _write_failure(target.path, error))

    def fail(path, message):
        failures.append((path, message))
        bar.write(f"error: {message}", file=sys.stderr)

    stream = pipeline.stream(todo, read=lambda t: read(t.path), batch_size=batch_size,
                             finish=False, readers=readers)
    with overlap.OrderedPool(writers, depth=2 * batch_size + writers) as pool:
        try:
            for target, image, raw in stream:
                if raw is None:
                    bar.update(1)
                    fail(target.path, str(image))
                    continue
                collect(pool.submit(target, write_outputs, plan, pipeline, options, target,
                                    image, raw))
            collect(pool.finished(wait=True))
        finally:
            stream.close()
            bar.close()
    if plan.crops:
        cropping.write_crop_index(out, boxes, keep_existing=skip_existing)
    return PredictionReport(written, failures, skipped)


def _count(n, noun):
    """2, "input" → "2 inputs"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _write_failure(path, error):
    """The message for an image whose outputs could not be written (not a full disk)."""
    if isinstance(error, atomic_files.OutputWriteError):
        return str(error)
    if isinstance(error, (OSError, ValueError)):
        return f"{path}: cannot write its outputs ({error})"
    raise error


@dataclasses.dataclass
class RunSummary:
    """What `predict_inputs` did: `images` (a `PredictionReport`), `videos` (list of
    `video.VideoReport`), `videos_skipped` (paths), `problems` (arguments that were
    neither file nor folder), `image_count` (images given)."""

    out: str
    images: PredictionReport
    videos: list
    videos_skipped: list
    problems: list
    image_count: int

    def failures(self):
        """(input, message) of every input that failed or stopped early, in order."""
        return ([(p.split(":", 1)[0], p) for p in self.problems]
                + list(self.images.failures)
                + [(v.path, v.error) for v in self.videos if v.error])

    def lines(self):
        """The closing report: counts, then every failed input by name."""
        report = self.images
        text = f"{len(report.written)} of {self.image_count} images written to {self.out}/"
        if report.skipped:
            text += f" ({len(report.skipped)} skipped: already written)"
        if self.videos or self.videos_skipped:
            done = [v for v in self.videos if v.outputs]
            frames = sum(v.frames for v in done)
            text += (f"; {len(done)} of {len(self.videos) + len(self.videos_skipped)} videos "
                     f"({frames} frames)")
            if self.videos_skipped:
                text += f" ({len(self.videos_skipped)} skipped: already written)"
        failed = self.failures()
        lines = [text + (f"; {len(failed)} failed" if failed else "")]
        if failed:
            lines.append(f"{_count(len(failed), 'input')} failed (the others are written):")
            lines += [f"  {message}" for _, message in failed]
        return lines


def predict_inputs(model, targets, out, *, outputs=DEFAULT_OUTPUTS, options=None,
                   batch_size=4, input_size=None, postprocess="default", crops=(),
                   max_pixels=DEFAULT_MAX_PIXELS, skip_existing=False, progress=True,
                   readers=DEFAULT_READERS, writers=DEFAULT_WRITERS, video_codec="auto",
                   every=1, smooth=0.0, problems=()):
    """Images and videos → their outputs under `out`: `predict_files` for the images,
    `video.predict_video` for each video (`targets.Target.video`); returns `RunSummary`.

    Args:
        targets: `targets.Target`s (`targets.collect_inputs`).
        video_codec, every, smooth: for videos (`video.predict_video`).
        problems: messages for arguments that were not found (carried to the summary).
        The others: as `predict_files`.
    """
    outputs = parse_outputs(outputs)
    options = options or OutputOptions()
    batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH, flag="--batch-size")
    every, smooth, video_codec = video.check_options(every, smooth, video_codec)
    images = [t for t in targets if not t.video]
    pipeline = map_pipeline(model, outputs, input_size=input_size, postprocess=postprocess)
    plan = OutputPlan(out, pipeline.outputs, outputs, crops,
                      container=lambda path: video.output_container(path, video_codec))
    plan.remove_stale_temporaries()
    report = PredictionReport([], [])
    if images:
        report = _predict_images(pipeline, plan, images, out, options=options,
                                 batch_size=batch_size, max_pixels=max_pixels,
                                 skip_existing=skip_existing, readers=readers,
                                 writers=writers, progress=progress)
    video_reports, videos_skipped = [], []
    for target in (t for t in targets if t.video):
        if skip_existing and plan.written(target):
            videos_skipped.append(target.path)
            continue
        result = video.predict_video(pipeline, target, plan, options, batch_size=batch_size,
                                     every=every, smooth=smooth, codec=video_codec,
                                     max_pixels=max_pixels, progress=progress)
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
        video_reports.append(result)
    return RunSummary(str(out), report, video_reports, videos_skipped, list(problems),
                      len(images))
