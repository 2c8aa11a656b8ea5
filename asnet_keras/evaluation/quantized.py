"""The INT8 export and the accuracy check that decides whether it is written.

`export_int8(weights, out, calibration)` writes the trained ASNet as an OpenVINO IR
quantized to INT8 (docs/deployment.md §6):

1. the float32 IR is exported and checked against Keras as every artefact is
   (`asnet_keras.export.formats.export_artifact`, ≤ 1e-4);
2. NNCF quantizes it on the calibration images (`asnet_keras.export.int8`);
3. both models run over a held-out prepared split through the one prediction path and
   are scored by `evaluate_model` — the float32 IR at the float32 hint, the INT8 IR
   at the hint it runs at by default (`asnet_keras.export.runtimes.OpenVINOModel`:
   bfloat16 for the unquantized rest where the CPU has it);
4. if any salient-object measure of `saliency_conv1` (maxF, meanF, adpF, maxF_PR, MAE,
   S, maxE, meanE, adpE, wF; docs/metrics.md part B) moves by more than `max_change`
   (default 0.005), nothing is written and `AccuracyCheckFailed` carries both sets of
   figures; otherwise the IR is written with a JSON beside it: the calibration set
   (where, how many, ids and a hash), NNCF's version and settings, the rewrites, and
   the figures of the check.

The held-out split must be disjoint from the calibration images: by default the
calibration dataset's `test` split (else `val`), never the calibration split itself,
and no held-out image may have the bytes of a calibration image. The check refuses
rather than trading accuracy for speed by itself (NNCF's accuracy-controlled
quantization optimises one number; the gate watches ten): docs/deployment.md §6.2.

Example:
    >>> report = export_int8("runs/asnet", "asnet_int8.xml",
    ...                      "data/prepared/synthetic-both:train")
    >>> report["accuracy_check"]["passed"], report["accuracy_check"]["largest_change"]
"""

import math
import os
from dataclasses import dataclass

from asnet_keras.data.layout import splits as prepared_splits
from asnet_keras.evaluation.api import evaluate_model
from asnet_keras.evaluation.scoring import label_presence
from asnet_keras.export import int8
from asnet_keras.export.formats import export_artifact
from asnet_keras.export.runtimes import open_artifact
from asnet_keras.formatting import format_difference, format_number, markdown_table
from asnet_keras.names import FINAL_OUTPUT
from asnet_keras.parameters import ParameterError, check_int, check_number

# The salient-object measures the check watches (`SalientObjectEvaluator.get_results`).
GATED_MEASURES = ("maxF", "meanF", "adpF", "maxF_PR", "MAE", "S", "maxE", "meanE", "adpE",
                  "wF")
HELD_OUT_SPLITS = ("test", "val")  # the default held-out split, in order of preference
CHECK_BATCH = 8  # images per forward pass while scoring
PRECISION_OF = {"float32": "f32", "int8": "auto"}  # the hint each model is scored at


class AccuracyCheckFailed(RuntimeError):
    """The INT8 model moved a salient-object measure by more than allowed; nothing was
    written. `report` holds every figure (the JSON that would have been written)."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


def default_held_out(calibration):
    """The held-out `ImageSet` when none is given: the calibration dataset's `test`
    split, else its `val` split (never the calibration split).

    Raises:
        ParameterError: the calibration set is a folder, or its dataset has no other
            split; the message says to pass --held-out.
    """
    if calibration.prepared:
        for split in HELD_OUT_SPLITS:
            if split != calibration.split and split in prepared_splits(calibration.root,
                                                                        calibration.dataset):
                spec = os.path.join(calibration.root, calibration.dataset) + int8.SPLIT_MARK + split
                return int8.parse_image_set(spec, "held_out")
    raise ParameterError("held_out", None, (
        f"the calibration set {calibration.spec} has no {' or '.join(HELD_OUT_SPLITS)} "
        "split beside it to check the INT8 model on; pass a prepared split with masks, "
        "disjoint from the calibration images, e.g. --held-out data/prepared/ecssd:test."),
        "--held-out")


def held_out_items(held_out, limit):
    """[(id, image path)] of the held-out images that are scored (the first `limit`)."""
    items = held_out.items()
    return items if limit is None else items[:limit]


def check_held_out(held_out, calibration, limit):
    """Raise ParameterError unless `held_out` is a prepared split with masks, another
    split than the calibration's."""
    if not held_out.prepared:
        raise ParameterError("held_out", held_out.spec, (
            "the check scores maps against masks: pass ROOT/DATASET:SPLIT of a prepared "
            "dataset with masks (docs/datasets.md §10), e.g. data/prepared/ecssd:test."),
            "--held-out")
    if calibration.prepared and (os.path.abspath(os.path.join(held_out.root, held_out.dataset)),
                                 held_out.split) == (
            os.path.abspath(os.path.join(calibration.root, calibration.dataset)),
            calibration.split):
        raise ParameterError("held_out", held_out.spec, (
            "it is the calibration split itself; pass another split (e.g. the dataset's "
            "test split) so that the check measures images the quantization never saw."),
            "--held-out")
    samples = held_out.samples()[:limit]
    if not label_presence(samples)[1]:
        raise ParameterError("held_out", held_out.spec, (
            "its images have no masks, so the salient-object measures cannot be computed; "
            "pass a split with masks (docs/datasets.md §10)."), "--held-out")


def refuse_overlap(held_digests, calibration_digests, held_out):
    """ParameterError when a held-out image has the bytes of a calibration image
    (digests: [(id, SHA-256)] of `asnet_keras.export.int8.image_digests`)."""
    calibration = {digest for _, digest in calibration_digests}
    shared = sorted(item_id for item_id, digest in held_digests if digest in calibration)
    if shared:
        raise ParameterError("held_out", held_out.spec, (
            f"{len(shared)} of its images are also calibration images (same file contents, "
            f"e.g. {', '.join(shared[:3])}); the check must use images the quantization "
            "never saw: pass a disjoint split or folder."), "--held-out")


def score(model, held_out, limit, progress):
    """{"salient_object": {measure: value}, "fixation": {measure: value}} of
    `saliency_conv1` (and `fixation`, where the split has fixations) on `held_out`."""
    results = evaluate_model(model, held_out.root, [held_out.dataset], split=held_out.split,
                             batch_size=CHECK_BATCH, limit=limit, progress=progress,
                             name=os.path.basename(model.path))[held_out.dataset]
    sod = results["salient_object"][FINAL_OUTPUT]
    scores = {"n_images": results["n_images"],
              "salient_object": {m: sod[m] for m in GATED_MEASURES}}
    fixation = results["fixation"].get("fixation")
    if fixation:
        scores["fixation"] = {m: v for m, v in fixation.items()
                              if isinstance(v, float)}
    return scores


def compare(reference, quantized, max_change):
    """{"changes": {measure: INT8 − float32}, "failed": [measures beyond max_change or
    NaN], "largest_change": {"measure", "value"}} of the gated measures."""
    changes, failed = {}, []
    for measure in GATED_MEASURES:
        change = quantized["salient_object"][measure] - reference["salient_object"][measure]
        changes[measure] = change
        if not math.isfinite(change) or abs(change) > max_change:
            failed.append(measure)
    finite = {m: abs(c) for m, c in changes.items() if math.isfinite(c)}
    worst = max(finite, key=finite.get) if finite else GATED_MEASURES[0]
    return {"changes": changes, "failed": failed,
            "largest_change": {"measure": worst, "value": changes[worst]}}


def measures_table(check):
    """Markdown table: each gated measure under float32 and INT8, the change, verdict."""
    allowed = check["max_change"]
    rows = []
    for measure in GATED_MEASURES:
        change = check["changes"][measure]
        rows.append([measure, format_number(check["float32"]["salient_object"][measure], 4),
                     format_number(check["int8"]["salient_object"][measure], 4),
                     format_difference(change, 4),
                     "no" if measure in check["failed"] else "yes"])
    return markdown_table(["measure", "float32", "INT8", "change",
                           f"within ±{allowed:g}"], rows)


@dataclass(frozen=True)
class _Plan:
    """What an INT8 export will use, every argument checked (`_plan`)."""

    out: str
    calibration: int8.ImageSet
    chosen: list  # [(id, path)] of the calibration images used
    calibration_digests: list  # [(id, SHA-256)]
    held_out: int8.ImageSet
    held_out_limit: int | None
    held_out_digests: list
    max_change: float


def _plan(out, calibration, held_out, calibration_images, held_out_images, max_change):
    """Check every argument, the sets and their disjointness before minutes of work."""
    out = int8.check_out(out)
    calibration_images = check_int("calibration_images", calibration_images, 1,
                                   int8.MAX_CALIBRATION_IMAGES, "--calibration-images")
    if held_out_images is not None:
        held_out_images = check_int("held_out_images", held_out_images, 1, 10**7,
                                    "--held-out-images")
    max_change = check_number("max_change", max_change, 0.0, 1.0,
                              flag="--max-measure-change")
    calibration_set = int8.parse_image_set(calibration, "calibration")
    held_out_set = (default_held_out(calibration_set) if held_out is None
                    else int8.parse_image_set(held_out, "held_out"))
    check_held_out(held_out_set, calibration_set, held_out_images)
    chosen = int8.evenly_spaced(calibration_set.items(), calibration_images)
    int8.check_readable(chosen, "--calibration")
    plan = _Plan(out, calibration_set, chosen, int8.image_digests(chosen), held_out_set,
                 held_out_images,
                 int8.image_digests(held_out_items(held_out_set, held_out_images)),
                 max_change)
    refuse_overlap(plan.held_out_digests, plan.calibration_digests, held_out_set)
    int8.require_nncf()  # a missing package fails now, not after the float export
    return plan


def _check_figures(plan, models, scores):
    """The "accuracy_check" section of the report (with its table)."""
    comparison = compare(scores["float32"], scores["int8"], plan.max_change)
    check = {
        "held_out": {**plan.held_out.to_json(), "n_images": len(plan.held_out_digests),
                     "sha256": int8.set_digest(plan.held_out_digests),
                     "limit": plan.held_out_limit},
        "output": FINAL_OUTPUT, "measures": list(GATED_MEASURES),
        "max_change": plan.max_change, "batch_size": CHECK_BATCH,
        "float32": scores["float32"], "int8": scores["int8"],
        "float32_precision": models["float32"].precision, **comparison,
        "passed": not comparison["failed"],
        "how": "evaluate_model on the held-out split (asnet_keras.evaluation), maps "
               "through the one prediction path, uint8 at the image size",
    }
    check["table"] = measures_table(check)
    return check


def export_int8(weights, out, calibration, *, held_out=None,
                calibration_images=int8.DEFAULT_CALIBRATION_IMAGES, held_out_images=None,
                max_change=int8.DEFAULT_MAX_CHANGE, input_size=None, fixation_head=None,
                fixation_28=None, use_convlstm=None, config=None, check=True,
                progress=False):
    """Write the trained ASNet at `weights` as an INT8 OpenVINO IR at `out`, if the
    held-out check allows it (module docstring).

    Args:
        weights: a training run folder, `.keras`, `.h5` or `.weights.h5` file.
        out: the IR's .xml path (the .bin and the .json are written beside it).
        calibration: a folder of images, or `ROOT/DATASET:SPLIT` of a prepared dataset.
        held_out: `ROOT/DATASET:SPLIT` of a prepared split with masks, disjoint from the
            calibration images; None: the calibration dataset's test (else val) split.
        calibration_images: calibration images used (evenly spread over the set;
            NNCF's default 300).
        held_out_images: score only the first N held-out images (None: all).
        max_change: largest change allowed in any gated measure (default 0.005).
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None: as the weights say.
        check: also check the float32 IR against Keras (≤ 1e-4) in a fresh process.
        progress: progress bars while scoring.
    Returns:
        the report written as JSON beside `out`.
    Raises:
        FileNotFoundError: nothing at `weights`. ValueError (`ParameterError`): a path,
            a set or a number that cannot be used. `asnet_keras.extras.MissingExtra`,
            FormatUnavailable: a package is missing. AccuracyCheckFailed: a measure
            moved too much (nothing written). RuntimeError: the float32 IR does not
            reproduce Keras.
    """
    plan = _plan(out, calibration, held_out, calibration_images, held_out_images,
                 max_change)
    import openvino  # optional runtime, imported on use (`_plan` checked for nncf)

    with int8.staging_folder() as folder:
        paths = {"float32": os.path.join(folder, "float32.xml"),
                 "int8": os.path.join(folder, os.path.basename(plan.out))}
        exported = export_artifact(weights, paths["float32"], "openvino",
                                   input_size=input_size, fixation_head=fixation_head,
                                   fixation_28=fixation_28, use_convlstm=use_convlstm,
                                   config=config, check=check)
        inputs = int8.NetworkInputs(plan.chosen, exported["options"]["input_size"],
                                    "--calibration")
        quantized, settings = int8.quantize(openvino.Core().read_model(paths["float32"]),
                                            inputs)
        int8.save_ir(quantized, paths["int8"])
        models = {name: open_artifact(path, "openvino", precision=PRECISION_OF[name])
                  for name, path in paths.items()}
        scores = {name: score(model, plan.held_out, plan.held_out_limit, progress)
                  for name, model in models.items()}
        report = {
            "out": os.path.abspath(plan.out), "format": "openvino", "quantization": "int8",
            "weights": os.fspath(weights), "options": exported["options"],
            "outputs": exported["outputs"],
            "inference_precision": {
                "int8": "8-bit integer convolutions (weights and their input activations)",
                "rest": "the OpenVINO precision hint chosen when the IR is opened: bf16 "
                        "where the CPU supports it, else f32",
                "checked_with": models["int8"].precision},
            "float32_ir_check": {"max_abs_difference": exported["max_abs_difference"],
                                 "differences": exported["differences"]},
            "graph_rewrites": exported.get("graph_rewrites"),
            "calibration": int8.calibration_record(plan.calibration, plan.chosen,
                                                   plan.calibration_digests),
            "nncf": settings,
            "accuracy_check": _check_figures(plan, models, scores),
        }
        failed = report["accuracy_check"]["failed"]
        if failed:
            raise AccuracyCheckFailed(
                f"the INT8 model moves {', '.join(failed)} by more than "
                f"{plan.max_change:g} on {plan.held_out.spec}; {plan.out} was not written. "
                "Use the float32 IR with the bf16 precision hint instead, calibrate on more "
                "or more typical images, or allow a larger change with "
                "--max-measure-change (docs/deployment.md §6).", report)
        report["written"] = [plan.out, os.path.splitext(plan.out)[0] + ".bin",
                             int8.report_path(plan.out)]
        int8.install(paths["int8"], plan.out, report)
    return report
