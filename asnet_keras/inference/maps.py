"""The one prediction path: decoded images → each image's maps at its own size.

`predict` (`prediction.predict_files`), the service (`asnet_keras.serving`) and
evaluation (`asnet_keras.evaluation.api.evaluate_model`) all run `MapPipeline`, so one
image gives the same uint8 maps in the three (tests/inference/test_maps.py). The model is
a Keras ASNet or an exported artefact (`asnet_keras.export.runtimes.ArtifactModel`):
anything with `inputs[0].shape` (batch, S, S, 3), `output_names` and `predict_on_batch`.

Three stages, each a method, so that a caller runs each where it pays:

1. `prepare`: one decoded image → float32 (S, S, 3) network input, raw RGB 0–255.
   default: `images.resize_to_input` of the RGB uint8 (H, W, 3) image;
   released: `released_preprocess` of the array main.py's imread gave
   (`asnet_keras.io.released_reading.read_image_released`; docs/released_pipeline.md §1, §2).
2. `forward`: n prepared inputs → one `predict_on_batch` → per image a dict key → float32
   (h, w) map at the network's resolution (`fixation` 14×14 and `saliency_conv1` 224×224
   at S = 224).
3. `finish`: one image's network maps → dict key → uint8 (H, W) at the image size.
   default: `images.upsample` (bilinear, half-pixel centres, in float) then
   `metrics.to_uint8` (docs/metrics.md §0); released: `released_postprocess` (main.py's
   min–max stretch, docs/released_model.md §4).

`maps(images)` is the three in a row for one batch (one forward pass);
`predict_maps(model, images)` is `MapPipeline(model).maps(images)`. `stream(items)` runs
them over any number of items, in order, in batches of `batch_size`: memory is bounded by
one batch whatever the number of items, and an item that cannot be read or prepared is
yielded with its exception instead of stopping the run.

Who calls what:
- `predict_files` streams files (keys "saliency", "fixation"; saliency alone when no
  grey map is written) with `readers` and `finish=False`, and finishes each image on a
  writer thread; `predict_video` streams a video's frames the same way; evaluation streams
  prepared samples (keys: the output names it scores or saves, every output with
  ``--save-maps``).
- The service prepares an upload while it is decoded, runs `forward` in the
  micro-batcher on the prepared images of several requests (one pass), and each request
  finishes its own maps (docs/serving.md §1, §3): resizing and upsampling never hold
  the model's thread.
- The float maps at the network's size: `forward([pipeline.prepare(image), ...])`, or
  `stream(items, finish=False)`; pass them (e.g. smoothed over video frames) to
  `finish(maps, image.shape[:2])` for the uint8 maps at the image size.
- What is made of a map (masks, cut-outs, backgrounds, crops;
  `asnet_keras.inference.outputs`) starts from the uint8 map at the image size under
  "saliency", drawn on `pipeline.as_rgb(image)`.
- Big folders and videos: `stream(items, readers=n, finish=False)` reads and prepares
  on n threads while the model runs, and the caller finishes and writes each image on
  writer threads (`asnet_keras.inference.overlap`, docs/outputs.md §5).

Example:
    >>> import asnet_keras as ak
    >>> model = ak.load_asnet("runs/paper")
    >>> maps = ak.predict_maps(model, [ak.read_image("photo.jpg")])[0]
    >>> maps["saliency"].shape, maps["saliency"].dtype    # the photo's (H, W), uint8
    >>> pipeline = ak.MapPipeline(model)
    >>> for path, image, maps in pipeline.stream(paths, batch_size=8):
    ...     if maps is None: print(image)                 # the error, naming the file
"""

import numbers
from collections.abc import Mapping

import numpy as np

from asnet_keras.inference import overlap, released_processing
from asnet_keras.inference.images import DEFAULT_INPUT_SIZE, resize_to_input, upsample
from asnet_keras.io import DEFAULT_MAX_PIXELS, read_image
from asnet_keras.metrics import to_uint8
from asnet_keras.names import FINAL_OUTPUT, FIXATION_OUTPUT
from asnet_keras.io import released_reading
from asnet_keras.parameters import check_int

# "default": our pipeline (bilinear upsampling, uint8 rounding); "released": the authors'
# main.py pre- and post-processing, for a model converted from their ASNet.h5.
POSTPROCESS = ("default", "released")
# The maps `predict` writes and the service answers, by the name users see → output name.
MAP_KINDS = {"saliency": FINAL_OUTPUT, "fixation": FIXATION_OUTPUT}


def output_names(model):
    """The model's output names in output order."""
    return list(model.output_names)


def model_input_size(model, default=None):
    """The model's square input side, or `default` (then 224) if its input is unsized."""
    shape = model.inputs[0].shape
    height, width = shape[1], shape[2]
    if height is not None and width is not None:
        if height != width:
            raise ValueError(f"the model input is {height}×{width}; only square inputs are used")
        return int(height)
    if default is None:
        return DEFAULT_INPUT_SIZE
    if isinstance(default, bool) or not isinstance(default, numbers.Integral) or default < 1:
        raise ValueError(f"input_size={default!r}: pass a positive whole number of pixels "
                         "(e.g. 224)")
    return int(default)


def model_kinds(model):
    """`MAP_KINDS` the model has: saliency, and fixation unless it has no fixation head.

    Raises:
        ValueError: the model has no `saliency_conv1` output.
    """
    names = output_names(model)
    if FINAL_OUTPUT not in names:
        raise ValueError(f"the model has no '{FINAL_OUTPUT}' output (outputs: {names})")
    return {kind: name for kind, name in MAP_KINDS.items() if name in names}


class MapPipeline:
    """A model and the pipeline around it, from decoded images to maps at their size.

    Args:
        model: a Keras ASNet or an exported artefact (module docstring).
        outputs: the maps to give, either a mapping key → output name (the keys of every
            result) or a sequence of output names (keyed by name). Default:
            `model_kinds(model)`, i.e. {"saliency": "saliency_conv1", "fixation":
            "fixation"} (no fixation for a model without fixation head).
        input_size: the square input side when the model has none (default 224).
        postprocess: "default" or "released" (`POSTPROCESS`; module docstring).

    Attributes:
        model, postprocess, input_size (S), outputs (dict key → output name).
    """

    def __init__(self, model, outputs=None, *, input_size=None, postprocess="default"):
        if postprocess not in POSTPROCESS:
            raise ValueError(f"postprocess={postprocess!r}: pass one of {POSTPROCESS}")
        names = output_names(model)
        if outputs is None:
            outputs = model_kinds(model)
        elif isinstance(outputs, str):
            raise ValueError(f"outputs={outputs!r}: pass a list of output names, e.g. "
                             f"[{outputs!r}]")
        elif not isinstance(outputs, Mapping):
            outputs = {name: name for name in outputs}
        unknown = [n for n in outputs.values() if n not in names]
        if unknown:
            raise ValueError(f"the model has no output {', '.join(map(repr, unknown))} "
                             f"(outputs: {names})")
        self.model = model
        self.postprocess = postprocess
        self.input_size = model_input_size(model, input_size)
        self.outputs = dict(outputs)
        self._names = names
        self._processing = self._reading = None  # the released modules, when asked for
        if postprocess == "released":
            self._processing, self._reading = released_processing, released_reading

    def read(self, path, max_pixels=DEFAULT_MAX_PIXELS, name="max_pixels"):
        """An image file as this pipeline's `prepare` takes it: RGB uint8 (H, W, 3)
        (`asnet_keras.io.read_image`), or with "released" the array main.py's imread gave
        (`read_image_released`: 2-D for grey files); files over `max_pixels` are refused
        (docs/data_integrity.md §7; `name`: the limit's name in the message). Raises
        `asnet_keras.io.ImageReadError`."""
        if self._reading:
            return self._reading.read_image_released(path, max_pixels, name=name)
        return read_image(path, max_pixels, name=name)

    def as_rgb(self, image):
        """An image `read` gave as RGB uint8 (H, W, 3): what overlays, crops and
        cut-outs draw on (released: grey repeated, 16-bit scaled, `display_rgb`)."""
        return self._processing.display_rgb(image) if self._processing else image

    def prepare(self, image):
        """One decoded image → float32 (S, S, 3) network input (module docstring, step 1).

        Args:
            image: RGB uint8 (H, W, 3); with "released" also the 2-D grey of
                `read_image_released`.
        """
        image = np.asarray(image)
        if image.ndim < 2 or image.shape[0] < 1 or image.shape[1] < 1:
            raise ValueError(f"an image must be (H, W, 3) with H, W ≥ 1; got {image.shape}")
        if self._processing:
            return self._processing.released_preprocess(image, self.input_size)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"an image must be RGB uint8 (H, W, 3), as read_image gives; "
                             f"got {image.dtype} {image.shape}")
        return resize_to_input(image, self.input_size)

    def forward(self, inputs):
        """Prepared inputs → one `predict_on_batch` → per input a dict key → float32
        (h, w) map at the network's resolution (module docstring, step 2).

        Args:
            inputs: a sequence of float32 (S, S, 3) arrays (`prepare`'s), or one
                (n, S, S, 3) array; the whole of it is one forward pass.
        """
        inputs = list(inputs)
        if not inputs:
            return []
        size = self.input_size
        batch = np.stack([np.asarray(x, dtype=np.float32) for x in inputs])
        if batch.shape[1:] != (size, size, 3):
            raise ValueError(f"the network takes prepared (n, {size}, {size}, 3) inputs; "
                             f"got {batch.shape}")
        outputs = self.model.predict_on_batch(batch)
        if isinstance(outputs, Mapping):
            outputs = [outputs[n] for n in self._names]
        elif not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        by_name = {name: np.asarray(out) for name, out in zip(self._names, outputs)}
        return [{key: by_name[name][i, ..., 0] for key, name in self.outputs.items()}
                for i in range(len(batch))]

    def finish(self, maps, shape):
        """One image's network maps → dict key → uint8 (H, W) at the image size `shape`
        (module docstring, step 3).

        Args:
            maps: dict key → (h, w) float map, one of `forward`'s results.
            shape: the image's (H, W) (`image.shape[:2]`).
        """
        height, width = (int(v) for v in shape[:2])
        if height < 1 or width < 1:
            raise ValueError(f"shape={tuple(shape)}: the image size must be at least 1 × 1")
        if self._processing:
            postprocess = self._processing.released_postprocess
            return {key: postprocess(a, (height, width)) for key, a in maps.items()}
        return {key: to_uint8(upsample(a, (height, width), np.float32))
                for key, a in maps.items()}

    def maps(self, images):
        """Decoded images → for each, dict key → uint8 (H, W) map at its own size.

        `prepare`, one `forward` pass for all of `images`, `finish`; for many images,
        `stream` bounds the batch.
        """
        images = list(images)
        raw = self.forward([self.prepare(image) for image in images])
        return [self.finish(maps, np.shape(image)[:2]) for maps, image in zip(raw, images)]

    def stream(self, items, read=None, batch_size=8, finish=True, readers=0, ahead=None):
        """The maps of any number of items, in order, memory bounded by one batch (and
        `ahead` images read in advance).

        Args:
            items: iterable of anything `read` accepts (paths, `PreparedSample`s, …).
            read: item → decoded image (as `prepare` takes it); default `self.read`
                (image paths). An exception it or `prepare` raises is yielded in place of
                the image, so one bad file does not stop the run.
            batch_size: images per forward pass (at most; a pass also ends before a
                failed item, so the images keep their order).
            finish: False yields the float network-size maps (`forward`'s) instead of
                the uint8 maps at the image size.
            readers: 0 reads and prepares each item in the caller's thread; n ≥ 1 does it
                on n threads while the model runs (`overlap.ordered_map`: `items` is
                iterated by one feeder thread, in order), at most `ahead` items
                (default 2 × batch_size + readers) read before the batch that needs them
                (docs/outputs.md §5).

        Yields:
            `(item, image, maps)` with the decoded image and its maps (uint8 (H, W) at
            the image size, or float32 (h, w) with `finish=False`); or
            `(item, exception, None)`.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}: pass a whole number ≥ 1")
        readers = check_int("readers", readers, 0, overlap.MAX_WORKERS)
        read = read or self.read

        def load(item):
            image = read(item)
            return image, self.prepare(image)

        if readers:
            ahead = 2 * int(batch_size) + readers if ahead is None else ahead
            loaded = overlap.ordered_map(load, items, readers, ahead)
        else:
            loaded = (_call(load, item) for item in items)
        return self._stream(loaded, int(batch_size), finish)

    def _stream(self, loaded, batch_size, finish):
        """`stream`'s generator over `(item, (image, prepared), error)` triples."""
        batch = []

        def flush():
            raw = self.forward([prepared for _, _, prepared in batch])
            for (item, image, _), maps in zip(batch, raw):
                yield item, image, self.finish(maps, np.shape(image)[:2]) if finish else maps
            batch.clear()

        try:
            for item, result, err in loaded:
                if err is not None:  # reported by the caller, by name
                    yield from flush() if batch else ()
                    yield item, err, None
                    continue
                batch.append((item, *result))
                if len(batch) == batch_size:
                    yield from flush()
            if batch:
                yield from flush()
        finally:
            loaded.close()  # stops the reader threads when the caller stops early

    def warm_up(self, batch_sizes=(1, 2)):
        """Trace the forward pass for a few batch sizes so that the first real batches
        are not slow. Keras relaxes the traced batch dimension after the second distinct
        size, so (1, 2) covers every later size with no further tracing."""
        blank = np.zeros((self.input_size, self.input_size, 3), np.float32)
        for n in batch_sizes:
            self.forward([blank] * int(n))


def _call(load, item):
    """`(item, load(item), None)`, or `(item, None, the exception it raised)`."""
    try:
        return item, load(item), None
    except Exception as err:  # reported by the caller, by name
        return item, None, err


def predict_maps(model, images, outputs=None, *, input_size=None, postprocess="default"):
    """Decoded images → for each, dict key → uint8 (H, W) map at its own size.

    `MapPipeline(model, outputs, input_size=..., postprocess=...).maps(images)`: one
    forward pass for all `images` (module docstring; arguments as `MapPipeline`).

    Example:
        >>> maps = predict_maps(model, [read_image("photo.jpg")])[0]
        >>> maps["saliency"]          # uint8 (H, W), the photo's size
    """
    return MapPipeline(model, outputs, input_size=input_size,
                       postprocess=postprocess).maps(images)
