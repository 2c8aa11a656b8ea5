"""INT8 quantization of an exported OpenVINO ASNet with NNCF (docs/deployment.md §6).

The float32 OpenVINO IR (`asnet_keras.export.formats.write_openvino`) is quantized by
NNCF's post-training quantization (`nncf.quantize`): the activations at the inputs of
every convolution and the convolution weights become 8-bit integers, with ranges taken
from a calibration set of images. What stays in floating point, and why:

- the ConvLSTM gate arithmetic of Eqs. 2–6 (`openvino_graph.gate_arithmetic`: the sums
  of input and state parts, f ∘ C, i ∘ tanh(·), their sum, o ∘ tanh(C)), through NNCF's
  ignored scope: the cell state C is carried across the T = 3 steps and sums terms of
  different scales, so an 8-bit grid there would round the recurrence itself, and
  integer element-wise kernels gain nothing on a CPU;
- the sigmoids and tanhs, which NNCF never quantizes; the plugin runs them, and the
  rest of the unquantized graph, at the precision hint `runtimes.OpenVINOModel` picks
  (bfloat16 where the CPU has it).

What the IR holds after `asnet_keras.export.openvino_graph.optimise_for_cpu` (one
convolution per gate, upsampling as `Interpolate`) is what is quantized, so every
convolution of the network runs in INT8.

The calibration set is a folder of images or a prepared dataset split
(docs/datasets.md §10), spelled `ROOT/DATASET:SPLIT` (e.g.
`data/prepared/thus10k:train`); `ImageSet` reads either. Each image is decoded under
the package's pixel limit (`asnet_keras.io.read_image`) and resized exactly as for
prediction (`asnet_keras.inference.images.resize_to_input`). `calibration_record`
says which images were used: their ids and one SHA-256 over the ids and file
contents.

Whether the INT8 model may be written is decided by its accuracy on held-out images
(`asnet_keras.evaluation.quantized`, above this layer); this module only quantizes and
writes.

`nncf` and `openvino` are imported when used (the `deploy` extra).
"""

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from asnet_keras.data.layout import samples as prepared_samples
from asnet_keras.data.layout import split_dir
from asnet_keras.export.contract import METADATA_KEY, SUFFIXES
from asnet_keras.export.openvino_graph import gate_arithmetic
from asnet_keras.extras import requires
from asnet_keras.inference.images import resize_to_input
from asnet_keras.inference.targets import collect_inputs
from asnet_keras.io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, ImageReadError, read_image
from asnet_keras.io.atomic_files import atomic_copy, atomic_write_text
from asnet_keras.names import LIST_FILE
from asnet_keras.parameters import ParameterError

# NNCF's own default number of calibration samples (`subset_size`).
DEFAULT_CALIBRATION_IMAGES = 300
# Largest change in any salient-object measure, float32 → INT8, that the accuracy check
# accepts (`asnet_keras.evaluation.quantized`; docs/deployment.md §6).
DEFAULT_MAX_CHANGE = 0.005
MAX_CALIBRATION_IMAGES = 10_000  # all held in memory: 10,000 × 224² × 3 float32 = 6 GB
SPLIT_MARK = ":"  # ROOT/DATASET:SPLIT names a prepared split
REPORT_SUFFIX = ".json"  # asnet_int8.xml → asnet_int8.json beside it


@dataclass(frozen=True)
class ImageSet:
    """Images named on the command line: a folder of image files (not recursive) or a
    prepared split `ROOT/DATASET:SPLIT`.

    Attributes:
        spec: as given. folder: the image folder, or None for a prepared split.
        root, dataset, split: the prepared split (None for a folder).
    """

    spec: str
    folder: str | None = None
    root: str | None = None
    dataset: str | None = None
    split: str | None = None

    @property
    def prepared(self):
        return self.folder is None

    def items(self):
        """[(id, image path)]: a folder's image files sorted by name (id: the name), a
        split's images in list.txt order (id: the sample id)."""
        if self.prepared:
            return [(s.id, s.image) for s in prepared_samples(self.root, self.dataset, self.split)]
        targets, _ = collect_inputs([self.folder])
        return [(os.path.basename(t.path), t.path) for t in targets if not t.video]

    def samples(self):
        """The `PreparedSample`s of a prepared split (ValueError for a folder)."""
        if not self.prepared:
            raise ValueError(f"{self.spec}: a folder of images has no labels")
        return prepared_samples(self.root, self.dataset, self.split)

    def to_json(self):
        if self.prepared:
            return {"spec": self.spec, "kind": "prepared split", "root": self.root,
                    "dataset": self.dataset, "split": self.split}
        return {"spec": self.spec, "kind": "image folder", "folder": self.folder}


def parse_image_set(spec, name):
    """`spec` as an `ImageSet`: `ROOT/DATASET:SPLIT` when that split is prepared, else a
    folder holding image files.

    Args:
        spec: as given on the command line.
        name: the parameter ("calibration", "held_out"); its flag is named in errors.
    Raises:
        ParameterError (a ValueError): nothing usable at `spec`; says what to pass.
    """
    spec, flag = os.fspath(spec), "--" + name.replace("_", "-")
    base, mark, split = spec.rpartition(SPLIT_MARK)
    if mark and split and os.sep not in split and "/" not in split:
        if os.path.isfile(os.path.join(split_dir(os.path.dirname(base) or ".",
                                                 os.path.basename(base), split), LIST_FILE)):
            base = os.path.normpath(base)
            return ImageSet(spec, root=os.path.dirname(base) or ".",
                            dataset=os.path.basename(base), split=split)
        raise ParameterError(name, spec, (
            f"no prepared split '{split}' in {base} (no {split}/{LIST_FILE}); pass "
            "ROOT/DATASET:SPLIT of a prepared dataset (docs/datasets.md §10), e.g. "
            "data/prepared/thus10k:train, or a folder of images."), flag)
    if not os.path.isdir(spec):
        raise ParameterError(name, spec, "no such folder; pass a folder of images or "
                             "ROOT/DATASET:SPLIT of a prepared dataset.", flag)
    image_set = ImageSet(spec, folder=spec)
    if not image_set.items():
        splits = sorted(s for s in os.listdir(spec)
                        if os.path.isfile(os.path.join(spec, s, LIST_FILE)))
        hint = (f"it is a prepared dataset: name a split, e.g. {spec}{SPLIT_MARK}{splits[0]}"
                if splits else f"it holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
        raise ParameterError(name, spec, f"{hint}.", flag)
    return image_set


def evenly_spaced(items, count):
    """`count` items spread evenly over `items` (all of them when there are fewer), in
    order: the same choice on every run."""
    if count >= len(items):
        return list(items)
    return [items[(i * len(items)) // count] for i in range(count)]


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_digests(items):
    """[(id, SHA-256 of the file)] of [(id, path)]."""
    return [(item_id, file_sha256(path)) for item_id, path in items]


def set_digest(digests):
    """One SHA-256 over the (id, file SHA-256) pairs of a set, in id order."""
    lines = sorted(f"{item_id} {digest}\n" for item_id, digest in digests)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def calibration_record(image_set, chosen, digests):
    """What the calibration used, for the JSON: the set, how many images, their ids and
    one SHA-256 over ids and file contents (`set_digest`)."""
    return {**image_set.to_json(), "n_images": len(chosen),
            "n_available": len(image_set.items()),
            "choice": "evenly spaced over the set, in its order",
            "ids": [item_id for item_id, _ in chosen], "sha256": set_digest(digests),
            "sha256_of": "sorted lines '<id> <SHA-256 of the image file>'"}


def read_calibration_image(path, flag, max_pixels=DEFAULT_MAX_PIXELS):
    """RGB uint8 (H, W, 3) of one image, decoded under `max_pixels`
    (`asnet_keras.io.read_image`); ValueError naming `flag` and the file if it cannot be."""
    try:
        return read_image(path, max_pixels)
    except ImageReadError as error:
        raise ValueError(f"{flag}: {error}") from None


def check_readable(chosen, flag, max_pixels=DEFAULT_MAX_PIXELS):
    """Decode every image of [(id, path)] once and drop it: a bad file fails at once,
    not minutes into the export (`read_calibration_image`)."""
    for _, path in chosen:
        read_calibration_image(path, flag, max_pixels)


class NetworkInputs:
    """The network inputs of images [(id, path)], each float32 (S, S, 3) raw RGB 0–255,
    decoded (`read_calibration_image`) and resized as for prediction one at a time as
    they are iterated: a calibration set of any size holds one image in memory."""

    def __init__(self, chosen, input_size, flag, max_pixels=DEFAULT_MAX_PIXELS):
        self.paths = [path for _, path in chosen]
        self.input_size, self.flag, self.max_pixels = int(input_size), flag, max_pixels

    def __len__(self):
        return len(self.paths)

    def __iter__(self):
        for path in self.paths:
            image = read_calibration_image(path, self.flag, self.max_pixels)
            yield resize_to_input(image, self.input_size)


def require_nncf():
    """Import and return `nncf` (with `openvino`); `asnet_keras.extras.MissingExtra`
    naming the `deploy` extra when either is not installed."""
    with requires("deploy"):
        import nncf  # optional and heavy: the deploy extra, imported on use
        import openvino  # noqa: F401 - NNCF's OpenVINO backend needs it
    nncf.set_log_level(logging.WARNING)
    return nncf


def quantize(float_model, inputs):
    """NNCF post-training INT8 quantization of a float OpenVINO model (module docstring).

    Args:
        float_model: `openvino.Model` of a float32 ASNet IR (after `optimise_for_cpu`).
        inputs: the calibration inputs, float32 (S, S, 3) each: a `NetworkInputs`, or
            an (n, S, S, 3) array; every one is used.
    Returns:
        (quantized `openvino.Model`, settings dict: NNCF version, every argument, the
        ignored scope).
    """
    nncf = require_nncf()
    import openvino  # optional runtime, imported on use

    ignored = gate_arithmetic(float_model)
    settings = {
        "nncf_version": nncf.__version__, "openvino_version": openvino.get_version(),
        "algorithm": "nncf.quantize (post-training quantization)",
        "preset": nncf.QuantizationPreset.PERFORMANCE.value,
        "target_device": nncf.TargetDevice.CPU.value,
        "subset_size": int(len(inputs)), "fast_bias_correction": True, "model_type": None,
        "ignored_scope": {
            "what": "the ConvLSTM gate arithmetic: element-wise Multiply/Add of two "
                    "computed tensors (docs/deployment.md §6.1)",
            "n_nodes": len(ignored), "names": ignored},
    }
    dataset = nncf.Dataset(inputs, lambda image: np.asarray(image, np.float32)[None])
    # NNCF draws its progress bars on stdout; stderr keeps stdout for results.
    with contextlib.redirect_stdout(sys.stderr):
        quantized = nncf.quantize(
            float_model, dataset, preset=nncf.QuantizationPreset.PERFORMANCE,
            target_device=nncf.TargetDevice.CPU, subset_size=len(inputs),
            fast_bias_correction=True, ignored_scope=nncf.IgnoredScope(names=ignored))
    if float_model.has_rt_info([METADATA_KEY]):
        quantized.set_rt_info(float_model.get_rt_info([METADATA_KEY]).astype(str),
                              [METADATA_KEY])
    return quantized, settings


def report_path(out):
    """The JSON written beside an INT8 IR: asnet_int8.xml → asnet_int8.json."""
    return os.path.splitext(os.fspath(out))[0] + REPORT_SUFFIX


def check_out(out):
    """`out` as a path for an INT8 IR (an .xml name), else ParameterError."""
    out = os.fspath(out)
    if not out.endswith(SUFFIXES["openvino"]):
        raise ParameterError("out", out, (
            "an INT8 model is an OpenVINO IR: name an .xml file (e.g. asnet_int8.xml; its "
            ".bin and .json go beside it)."), "--out")
    return out


def save_ir(model, path):
    """`openvino.save_model` without float16 compression (docs/deployment.md §2)."""
    import openvino  # optional runtime, imported on use

    openvino.save_model(model, os.fspath(path), compress_to_fp16=False)


def install(staged, out, report):
    """Copy the IR saved at `staged` (.xml + .bin) to `out`, then write `report` beside
    it as JSON; each file replaced whole (`asnet_keras.io.atomic_files`)."""
    out = check_out(out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    weights = os.path.splitext(out)[0] + ".bin"
    atomic_copy(os.path.splitext(staged)[0] + ".bin", weights)
    atomic_copy(staged, out)
    atomic_write_text(report_path(out), json.dumps(report, indent=2, allow_nan=True) + "\n")
    return out


def staging_folder():
    """A temporary folder for the IRs until the check has decided (nothing is written at
    `--out` before)."""
    return tempfile.TemporaryDirectory(prefix="asnet_int8_")

