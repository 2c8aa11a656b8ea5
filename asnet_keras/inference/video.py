"""Videos in, videos out: the maps, mask, overlay or new background of every frame.

docs/outputs.md §6. `predict clip.mp4` reads the video with OpenCV's FFmpeg (any
container it opens: mp4, m4v, mov, avi, mkv, webm), runs its frames through the one
prediction path in batches (`MapPipeline.stream(..., readers=1, finish=False)`: frames
are decoded and resized on a reader thread while the model runs), optionally smooths the
float maps over time, and hands each frame to one writer thread (frames must be written
in order) that finishes the maps at the frame's size, renders the outputs
(`asnet_keras.inference.outputs`) and appends them to one video per kind:

    OUT/saliency/<name><ext>, OUT/fixation/<name><ext>    the maps (grey)
    OUT/mask/<name><ext>                                   0/255 mask (grey)
    OUT/background/<name><ext>, OUT/overlay/<name><ext>    colour
    OUT/cutout/<name>/000000.png, …, frames.json           RGBA PNG sequence

at the input's size and frame rate (÷ N with ``--every N``, which keeps one frame in N,
so the duration is the input's). The cut-out is a PNG sequence because OpenCV's FFmpeg
writer takes 1- and 3-channel frames only: no video it writes keeps an alpha channel.
`frames.json` gives the sequence's frame rate and is written last (the sequence is
complete when it exists).

Codecs (`CODECS`): the output keeps the input's container with its default codec (mp4v
for MP4, MOV, AVI and MKV; VP8 for WebM) unless ``--video-codec`` names another; a codec
the container cannot hold is written in Matroska (.mkv). FFV1 and PNG are lossless (the
frames read back are the maps exactly); the opencv-python wheels carry no H.264 encoder.

Smoothing (``--smooth β``, 0 ≤ β < 1, default 0 = off): each float map at the network's
size, per kind, is an exponential moving average over the frames processed,

    s₁ = m₁,   s_t = (1 − β) · m_t + β · s_{t−1},

before it is upsampled and rounded (`MapPipeline.finish`); β = 0.5 halves a frame's
weight at each following frame.

A video that cannot be opened is named and skipped. A damaged one (fewer frames than its
container declares, or a frame that cannot be decoded) is named too, and the frames read
before the damage are kept: the outputs are finished and written, the count is reported.
Every output video is written under a temporary name and renamed when complete
(docs/data_integrity.md §5).
"""

import contextlib
import dataclasses
import json
import math
import os
import re

import numpy as np

from asnet_keras.inference import overlap
from asnet_keras.inference.targets import SEQUENCE_INDEX
from asnet_keras.io import DEFAULT_MAX_PIXELS, atomic_files, check_max_pixels, write_image
from asnet_keras.io.decoding import cv2
from asnet_keras.parameters import check_int, check_number

#: Codec name → (FourCC, the containers that hold it). Checked against this OpenCV build's
#: FFmpeg by tests/inference/test_video.py.
CODECS = {
    "mp4v": ("mp4v", (".mp4", ".m4v", ".mov", ".avi", ".mkv")),
    "mjpg": ("MJPG", (".mov", ".avi", ".mkv")),
    "vp8": ("VP80", (".webm", ".avi", ".mkv")),
    "vp9": ("VP90", (".webm", ".mp4", ".mkv")),
    "ffv1": ("FFV1", (".avi", ".mkv")),
    "png": ("png ", (".mov", ".avi", ".mkv")),
}
LOSSLESS_CODECS = ("ffv1", "png")
DEFAULT_CODEC = "auto"
#: The container written when the input's cannot hold the codec asked for.
FALLBACK_CONTAINER = ".mkv"
#: Kinds written as grey videos (the others in colour; cutout as PNGs).
GREY_KINDS = ("saliency", "fixation", "mask")
MAX_FPS = 1000.0
_FRAME_NAME = re.compile(r"^\d{6}\.png$")  # a cut-out sequence's frame files
MAX_EVERY = 100_000


def codec_for(container, codec=DEFAULT_CODEC):
    """The codec used for an input of `container` (".mp4"): `codec`, or with "auto" the
    container's default (VP8 for WebM, mp4v otherwise)."""
    if codec == DEFAULT_CODEC:
        return "vp8" if container == ".webm" else "mp4v"
    return check_options(1, 0.0, codec)[2]


def output_container(path, codec=DEFAULT_CODEC):
    """The extension of `path`'s output videos: its own, or `FALLBACK_CONTAINER` when it
    cannot hold the codec."""
    container = os.path.splitext(os.fspath(path))[1].lower()
    holds = CODECS[codec_for(container, codec)][1]
    return container if container in holds else FALLBACK_CONTAINER


def check_smooth(beta):
    """β for `--smooth`: a finite number, 0 ≤ β < 1 (1 would freeze the first map)."""
    beta = check_number("smooth", beta, 0.0, 1.0, flag="--smooth")
    if beta >= 1.0:
        raise ValueError(f"--smooth {beta:g}: pass β with 0 ≤ β < 1 (0: off; 0.5 halves a "
                         "frame's weight at each later frame)")
    return beta


def check_options(every, smooth, codec):
    """(every, smooth, codec) checked: `every` a whole number 1–100,000, `smooth` β with
    0 ≤ β < 1, `codec` "auto" or a key of `CODECS`; ValueError naming the flag."""
    every = check_int("every", every, 1, MAX_EVERY, flag="--every")
    if codec != DEFAULT_CODEC and codec not in CODECS:
        raise ValueError(f"--video-codec {codec!r}: pass auto or one of {', '.join(CODECS)}")
    return every, check_smooth(smooth), codec


class VideoError(ValueError):
    """A video that cannot be opened or read; the message names it."""


@dataclasses.dataclass
class VideoSource:
    """An opened video: its size and rate, read before any frame is decoded.

    Attributes:
        path, width, height, fps, declared (the frame count the container declares, 0 if
        none), read (frames decoded so far), damage (why reading stopped early, or None).
    """

    path: str
    width: int
    height: int
    fps: float
    declared: int
    capture: object = dataclasses.field(repr=False)
    read: int = 0
    damage: str = None

    @classmethod
    def open(cls, path, max_pixels=DEFAULT_MAX_PIXELS):
        """Open `path` with OpenCV's FFmpeg; refuse it (VideoError) if it cannot be
        opened, has no frame size or rate, or frames over `max_pixels` (nothing decoded).
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise VideoError(f"{path}: no such video file")
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise VideoError(f"{path}: cannot open this video (not a video OpenCV's FFmpeg "
                             "reads, or damaged before its first frame)")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        declared = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        declared = int(declared) if math.isfinite(declared) and declared > 0 else 0
        problem = None
        if width < 1 or height < 1:
            problem = "its frame size is unknown"
        elif width * height > max_pixels:
            problem = (f"frames too large: {width:,} × {height:,} = {width * height:,} "
                       f"pixels, the limit is {max_pixels:,} (--max-pixels)")
        elif not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
            problem = f"its frame rate ({fps:g}) is unknown or not in (0, {MAX_FPS:g}]"
        if problem:
            capture.release()
            raise VideoError(f"{path}: cannot read this video ({problem})")
        return cls(path, width, height, fps, declared, capture)

    def frames(self, every=1):
        """(index, RGB uint8 (H, W, 3)) of every `every`-th frame from the first; stops at
        the end, or at damage (recorded in `damage`). Releases the capture at the end."""
        try:
            while True:
                index = self.read
                keep = index % every == 0
                ok, frame = self.capture.read() if keep else (self.capture.grab(), None)
                if not ok:
                    break
                self.read += 1
                if not keep:
                    continue
                if frame is None or frame.shape != (self.height, self.width, 3):
                    self.damage = (f"frame {index} decodes to "
                                   f"{None if frame is None else frame.shape}, not "
                                   f"({self.height}, {self.width}, 3)")
                    return
                yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            if self.declared and self.read < self.declared:
                self.damage = (f"the video ends after {self.read} of the {self.declared} "
                               "frames its container declares (damaged or truncated)")
        except cv2.error as err:
            self.damage = f"frame {self.read} cannot be decoded ({err})"
        finally:
            self.capture.release()


class _Sinks:
    """The output videos (one per kind) and the cut-out PNG sequence of one input."""

    def __init__(self, plan, target, kinds, codec, fps, size):
        self.plan, self.target, self.kinds, self.fps, self.size = plan, target, kinds, fps, size
        self.count = 0
        self._stack = contextlib.ExitStack()
        self._writers = {}
        fourcc = cv2.VideoWriter_fourcc(*CODECS[codec][0])
        try:
            for kind in kinds:
                if kind == "cutout":
                    self._clear_sequence()
                    continue
                path = atomic_files.make_parent(plan.path(kind, target))
                tmp = self._stack.enter_context(atomic_files.atomic_output(path))
                writer = cv2.VideoWriter(tmp, cv2.CAP_FFMPEG, fourcc, fps, size,
                                         kind not in GREY_KINDS)
                self._stack.callback(writer.release)  # released before the rename
                if not writer.isOpened():
                    raise VideoError(f"{path}: OpenCV's FFmpeg cannot write {codec} "
                                     f"video in {os.path.splitext(path)[1]}")
                self._writers[kind] = writer
        except BaseException:
            self.abort()
            raise

    def _clear_sequence(self):
        """Remove an earlier run's cut-out sequence (its index first, so that a run
        killed from now on never leaves an index over frames it did not write)."""
        index = self.plan.path("cutout", self.target)
        folder = os.path.dirname(index)
        if os.path.isdir(folder):
            for name in [SEQUENCE_INDEX] + sorted(os.listdir(folder)):
                if name == SEQUENCE_INDEX or _FRAME_NAME.match(name):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(os.path.join(folder, name))

    def sequence_path(self, index):
        folder = os.path.dirname(self.plan.path("cutout", self.target))
        return os.path.join(folder, f"{index:06d}.png")

    def write(self, frames):
        """Append one frame: kind → RGB, RGBA or grey uint8 array."""
        for kind, array in frames.items():
            if kind == "cutout":
                write_image(self.sequence_path(self.count), array)
            elif array.ndim == 2:
                self._writers[kind].write(np.ascontiguousarray(array))
            else:
                self._writers[kind].write(cv2.cvtColor(array, cv2.COLOR_RGB2BGR))
        self.count += 1

    def finish(self, source, every):
        """Close the videos (renamed to their final names) and write the sequence's
        index; returns folder-kind → written path."""
        self._stack.close()
        done = {k: self.plan.path(k, self.target) for k in self.kinds}
        if "cutout" in self.kinds:
            index = {"source": source.path, "frames": self.count, "fps": self.fps,
                     "every": every, "width": self.size[0], "height": self.size[1],
                     "complete": source.damage is None, "pattern": "%06d.png"}
            atomic_files.atomic_write_text(done["cutout"], json.dumps(index, indent=1))
        return done

    def abort(self):
        """Close the videos and remove their temporary files (nothing is renamed): each
        `atomic_output` is left with an exception, which is what makes it discard."""
        self._stack.__exit__(VideoError, VideoError("aborted"), None)


@dataclasses.dataclass
class VideoReport:
    """What `predict_video` did: `path`, `frames` written, `read` (frames decoded),
    `declared` (the container's count, 0 if none), `outputs` (folder-kind → path),
    `error` (why it stopped early or failed, naming the file; None if complete)."""

    path: str
    frames: int = 0
    read: int = 0
    declared: int = 0
    outputs: dict = dataclasses.field(default_factory=dict)
    error: str = None


def _smoother(beta):
    """maps → the exponential moving average of the maps so far (module docstring)."""
    state = {}

    def smooth(maps):
        for key, m in maps.items():
            state[key] = m if key not in state else (1 - beta) * m + beta * state[key]
        return dict(state)

    return smooth


def _render_frame(pipeline, options, kinds, image, raw):
    """One frame's outputs: folder-kind → array (the maps finished at the frame's size)."""
    maps = pipeline.finish(raw, image.shape[:2])
    frame = {}
    for kind in kinds:
        frame[kind] = maps[kind] if kind in maps else options.render(kind, image,
                                                                     maps["saliency"])
    return frame


def predict_video(pipeline, target, plan, options, *, batch_size=4, every=1, smooth=0.0,
                  codec=DEFAULT_CODEC, max_pixels=DEFAULT_MAX_PIXELS, progress=True):
    """Write the outputs of the video `target` (a `targets.Target`) as `plan` says.

    Args:
        pipeline: a `MapPipeline` (postprocess "default").
        plan: `targets.OutputPlan` whose `container` is `output_container` for `codec`.
        options: `outputs.OutputOptions` (mask threshold, background).
        batch_size: frames per forward pass.
        every: keep one frame in `every` (1: all); the output rate is the input's ÷ it.
        smooth: β of the exponential moving average of the maps (0: off).
        codec: "auto" or a key of `CODECS`.
        max_pixels: frames over this many pixels are refused before decoding.

    Returns:
        `VideoReport`; `error` is set for a video that could not be opened, was damaged
        (the frames before are written) or could not be written.

    Raises:
        atomic_files.OutputWriteError: the disk is full.
    """
    from tqdm.auto import tqdm

    every, smooth, codec = check_options(every, smooth, codec)
    max_pixels = check_max_pixels(max_pixels, "--max-pixels")
    if pipeline.postprocess != "default":
        raise ValueError("videos run with --postprocess default only (the released "
                         "pipeline reads image files)")
    report = VideoReport(target.path)
    try:
        source = VideoSource.open(target.path, max_pixels)
    except VideoError as err:
        report.error = str(err)
        return report
    report.declared = source.declared
    kinds = plan.folders()
    codec = codec_for(os.path.splitext(target.path)[1].lower(), codec)
    fps = source.fps / every
    total = -(-source.declared // every) if source.declared else None
    smoothing = _smoother(smooth) if smooth else None
    try:
        sinks = _Sinks(plan, target, kinds, codec, fps, (source.width, source.height))
    except (VideoError, OSError) as err:
        source.capture.release()
        if isinstance(err, atomic_files.OutputWriteError) and err.no_room:
            raise
        report.error = str(err)
        return report

    def job(image, raw):
        sinks.write(_render_frame(pipeline, options, kinds, image, raw))

    stream = pipeline.stream(source.frames(every), read=lambda item: item[1],
                             batch_size=batch_size, finish=False, readers=1)
    bar = tqdm(total=total, unit="frame", desc=os.path.basename(target.path),
               disable=not progress)
    try:
        with overlap.OrderedPool(1, depth=2 * batch_size + 1) as pool:  # 1: in order
            for item, image, raw in stream:
                if raw is None:
                    source.damage = f"frame {item[0]} cannot be used ({image})"
                    break
                if smoothing:
                    raw = smoothing(raw)
                _check_written(pool.submit(item, job, image, raw), bar)
            _check_written(pool.finished(wait=True), bar)
    except BaseException as err:
        stream.close()
        sinks.abort()
        bar.close()
        if not isinstance(err, OSError) or getattr(err, "no_room", False):
            raise
        report.error = f"{target.path}: cannot write its outputs ({err})"
        return report
    stream.close()
    bar.close()
    report.frames, report.read = sinks.count, source.read
    if not sinks.count:
        sinks.abort()
        report.error = (f"{target.path}: no frame could be read"
                        + (f" ({source.damage})" if source.damage else ""))
        return report
    report.outputs = sinks.finish(source, every)
    if source.damage:
        report.error = (f"{target.path}: {source.damage}; the {sinks.count} frames before it "
                        "are written")
    return report


def _check_written(results, bar):
    """Raise the error of a frame that could not be written; count the others."""
    for _, _, error in results:
        if error is not None:
            raise error
        bar.update(1)
