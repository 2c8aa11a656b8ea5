"""Score a trained ASNet, or a folder of any method's maps, on prepared test sets.

Paper §4 (ASNET.md §4); every metric as specified in METRICS.md, computed by
`asnet_keras.metrics`. Two sources of maps, one scoring path:

- ``--weights W``: the model runs over each dataset in batches (`asnet_keras.inference`);
  every output is upsampled to the image size (`inference.UPSAMPLING`), rounded to uint8
  (`metrics.to_uint8`) and scored. Fixation metrics for `fixation` (14×14 at 224 px) and
  `fixation_conv4` (28×28) when the model has it; SOD metrics for `saliency_conv1`, and
  with ``--all-outputs`` for every other saliency output (Table 5's conv5 … conv2 rows).
- ``--pred-dir DIR``: precomputed maps, one grey image per id (`DIR/<dataset>/<id>.png`,
  or `DIR/<id>.png` for a single dataset), scored as they are under the key ``"maps"``.

Per dataset it writes `OUT/<dataset>/results.json` (metric values, per-image values, NaN
counts, exact settings, warnings) and `OUT/<dataset>/results.md` (tables laid out like
the paper's Tables 2–5); over all datasets `OUT/summary.md` and `OUT/pr_curves.png`.
Memory stays flat in the number of images: maps are streamed, only per-image scalars
are kept.

Example (command line):
    python -m asnet_keras.evaluate --weights runs/paper --data data/prepared --out eval
    python -m asnet_keras.evaluate --pred-dir maps/BASNet --datasets ecssd --out eval_basnet

Example (Python):
    >>> from asnet_keras.evaluate import evaluate_model
    >>> results = evaluate_model("runs/paper", "data/prepared", ["ecssd"], out="eval")
    >>> results["ecssd"]["salient_object"]["saliency_conv1"]["maxF"]
"""

import argparse
import json
import math
import os
import sys

import cv2
import numpy as np

from asnet_keras import inference, pred_dir_checks, prepared
from asnet_keras.metrics import (
    FixationEvaluator,
    SalientObjectEvaluator,
    other_fixations_map,
    to_uint8,
)

DEFAULT_DATASETS = ("pascal-s", "mit1003", "ecssd", "hku-is")
DEFAULT_SPLIT = "test"
PRED_DIR_KEY = "maps"  # the single key of --pred-dir results, in both sections
N_OTHER = 10  # sAUC: images pooled for the other-fixations map (METRICS.md §A.2)
PRED_DIR_UPSAMPLING = (
    "none: maps scored as read; a map whose size differs from the ground truth is "
    "resized by the metrics (MATLAB imresize for fixation maps, bilinear for salient-object maps)"
)
MAP_EXTENSIONS = pred_dir_checks.MAP_EXTENSIONS
TRAINED_ON_ASNET = ("dut-omron",)  # ASNet's own training sets that are also SOD test sets

# Paper row names of each output (Tables 2–5).
ROW_NAMES = {
    "fixation": "ASNet",
    "fixation_conv4": "ASNet-28×28",
    "saliency_conv1": "ASNet",
    "saliency_conv2": "conv2-output",
    "saliency_conv3": "conv3-output",
    "saliency_conv4": "conv4-output",
    "saliency_conv5": "conv5-output",
    "saliency_side_conv5": "side output (released)",
}
FP_COLUMNS = (("AUC-J", "auc_judd"), ("SIM", "sim"), ("s-AUC", "sauc"), ("CC", "cc"), ("NSS", "nss"))
SOD_EXTRA_COLUMNS = ("maxF_PR", "meanF", "adpF", "S", "maxE", "meanE", "adpE", "wF")


# ----------------------------------------------------------------------------- scoring


class _OtherFixations:
    """sAUC other-fixations maps of one split, from its fixations.npz (METRICS.md §A.2).

    Image `j` of the table (its position in the npz `ids`) pools `N_OTHER` other images
    chosen with `np.random.default_rng([seed, j])`: the draw depends only on the seed and
    the image, not on which images are evaluated or in what order.
    """

    def __init__(self, table, seed):
        self.seed = int(seed)
        self.table = table
        if table is None:
            self.index = {}
            return
        self.index = {str(i): j for j, i in enumerate(table["ids"].tolist())}
        self.shapes = np.stack([table["height"], table["width"]], axis=1)

    def get(self, sample_id):
        """The boolean map of image `sample_id`, or None if the table lacks it."""
        j = self.index.get(sample_id)
        if j is None:
            return None
        t = self.table
        return other_fixations_map(
            j, t["image_index"], t["y"], t["x"], self.shapes, n_other=N_OTHER,
            seed=[self.seed, j],
        )


class DatasetScorer:
    """Streams one dataset's maps into the metric evaluators.

    Args:
        root, dataset, split: the prepared split.
        fixation_keys: map names scored with the fixation metrics (images with fixpts).
        sod_keys: map names scored with the SOD metrics (images with a mask).
        seed, jitter, n_splits: `FixationEvaluator` settings; `seed` also draws the
            sAUC other images.
        maps_dir: if set, every scored map is written to `maps_dir/<key>/<id>.png`.
    """

    def __init__(self, root, dataset, split, fixation_keys, sod_keys, *, seed=0, jitter=True,
                 n_splits=100, maps_dir=None):
        self.dataset = dataset
        self.fixation_keys = list(fixation_keys)
        self.sod_keys = list(sod_keys)
        self.fixation = {
            k: FixationEvaluator(jitter=jitter, n_splits=n_splits, seed=seed)
            for k in self.fixation_keys
        }
        self.sod = {k: SalientObjectEvaluator() for k in self.sod_keys}
        self.other = _OtherFixations(prepared.load_fixations(root, dataset, split), seed)
        self.maps_dir = maps_dir
        self.n_images = 0
        self.missing_other = 0

    def add(self, sample, maps):
        """Score one image; `maps` is a dict key → uint8 (H, W) map."""
        if self.maps_dir is not None:
            for key, array in maps.items():
                folder = os.path.join(self.maps_dir, key)
                os.makedirs(folder, exist_ok=True)
                cv2.imwrite(os.path.join(folder, sample.id + ".png"), array)
        if sample.fixpts is not None and self.fixation:
            fixpts = inference.read_grey(sample.fixpts)
            density = None
            if sample.fixmap is not None:
                density = inference.read_grey(sample.fixmap).astype(np.float64) / 255.0
            other = self.other.get(sample.id)
            self.missing_other += other is None
            for key, evaluator in self.fixation.items():
                evaluator.step(maps[key], fixpts, density=density, other_fixations=other)
        if sample.mask is not None and self.sod:
            mask = inference.read_grey(sample.mask)
            for key, evaluator in self.sod.items():
                evaluator.step(maps[key], mask)
        self.n_images += 1

    def results(self):
        """`{"fixation": {key: results}, "salient_object": {key: results}}`; a section
        is `{}` when no image had its label."""
        fixation = {
            k: ev.get_results() for k, ev in self.fixation.items() if ev.values["nss"]
        }
        sod = {k: ev.get_results() for k, ev in self.sod.items() if ev.n_images}
        return {"fixation": fixation, "salient_object": sod}


def _label_presence(samples):
    return any(s.fixpts for s in samples), any(s.mask for s in samples)


def _limit(samples, limit):
    return samples if limit is None else samples[: int(limit)]


def _progress(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False)


# ---------------------------------------------------------------------- warnings


def _training_datasets(config):
    """Dataset names of a training run's config.json (`datasets`: list or comma string)."""
    if not config:
        return []
    value = config.get("datasets")
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    names = []
    for entry in value:
        entry = str(entry).strip()
        for sep in (":", "/"):
            entry = entry.split(sep)[0]
        if entry:
            names.append(entry)
    return names


def training_warnings(dataset, split, config, asnet_model=True):
    """Warnings for a dataset the model was trained on (run config and the paper)."""
    warnings = []
    trained = _training_datasets(config)
    if dataset in trained:
        if split == "test":
            warnings.append(
                f"'{dataset}' is one of the model's training datasets (run config.json); "
                f"this evaluation uses its '{split}' split, which is held out only if "
                "training read no test images."
            )
        else:
            warnings.append(
                f"TRAINED ON: '{dataset}' is one of the model's training datasets and split "
                f"'{split}' may have been seen in training; these scores are not a held-out test."
            )
    elif dataset in TRAINED_ON_ASNET and asnet_model:
        warnings.append(
            f"TRAINED ON: '{dataset}' is one of ASNet's training sets (paper §3.3: SALICON, "
            "THUS10K, DUT-OMRON); scores on it are not a held-out test."
        )
    return warnings


# ---------------------------------------------------------------------- public API


def _settings(upsampling, input_size, batch_size, seed, jitter, n_splits, outputs, limit):
    return {
        "upsampling": upsampling,
        "input_size": input_size,
        "batch_size": batch_size,
        "seed": int(seed),
        "jitter": bool(jitter),
        "n_splits": int(n_splits),
        "outputs": list(outputs),
        "input_interpolation": inference.INPUT_INTERPOLATION if input_size else None,
        "map_quantisation": "uint8 = round(255 * clip(p, 0, 1)) (asnet_keras.metrics.to_uint8)",
        "sauc_other_fixations": (
            f"{N_OTHER} other images of the split, np.random.default_rng([seed, j]) for "
            "image j of fixations.npz; coordinates scaled (METRICS.md A.2)"
        ),
        "limit": limit,
    }


def evaluate_model(
    weights,
    data,
    datasets=DEFAULT_DATASETS,
    out=None,
    *,
    split=DEFAULT_SPLIT,
    batch_size=8,
    input_size=None,
    save_maps=False,
    all_outputs=False,
    seed=0,
    jitter=True,
    n_splits=100,
    limit=None,
    name=None,
    progress=True,
):
    """Run a trained model over prepared datasets and score its maps.

    Args:
        weights: a run folder, `.keras` / `.h5` / `.weights.h5` path, or a `keras.Model`.
        data: the prepared data root (DATASETS.md §10).
        datasets: dataset names (each must have `split` prepared).
        out: output folder for results.json/.md per dataset, summary.md, pr_curves.png
            (None: nothing written).
        split: the split evaluated ("test").
        batch_size: images per forward pass.
        input_size: the model input side when the model's input is unsized (else its own).
        save_maps: write every scored map to `out/<dataset>/maps/<output>/<id>.png`.
        all_outputs: also score saliency_conv5 … conv2 (Table 5 rows) with SOD metrics.
        seed, jitter, n_splits: fixation-metric settings (`FixationEvaluator`).
        limit: score only the first `limit` images of each split (quick checks).
        name: label of this model in summary tables and plots.
        progress: show a progress bar per dataset.

    Returns:
        dict dataset → the results.json dict.
    """
    datasets = _dataset_list(datasets)
    prepared.check_prepared(data, datasets, split)
    if save_maps and out is None:
        raise ValueError("save_maps=True needs an output folder: pass out=...")
    if isinstance(weights, (str, os.PathLike)):
        model = inference.load_model(weights)
        weights_path, config = os.fspath(weights), inference.run_config(weights)
    else:
        model, weights_path, config = weights, None, None
    names = inference.output_names(model)
    size = inference.model_input_size(model, input_size)
    fixation_keys = [n for n in names if n.startswith("fixation")]
    if "saliency_conv1" not in names:
        raise ValueError(f"the model has no 'saliency_conv1' output (outputs: {names})")
    sod_keys = ["saliency_conv1"]
    if all_outputs:
        sod_keys += [n for n in names if n.startswith("saliency") and n != "saliency_conv1"]
    source = {"weights": weights_path, "pred_dir": None, "model_config": config}
    label = name or _default_name(weights_path, "ASNet")

    all_results = {}
    for dataset in datasets:
        samples = _limit(prepared.samples(data, dataset, split), limit)
        has_fix, has_mask = _label_presence(samples)
        keys_fix = fixation_keys if has_fix else []
        keys_sod = sod_keys if has_mask else []
        maps_dir = os.path.join(out, dataset, "maps") if save_maps else None
        scorer = DatasetScorer(data, dataset, split, keys_fix, keys_sod, seed=seed,
                               jitter=jitter, n_splits=n_splits, maps_dir=maps_dir)
        wanted = list(dict.fromkeys(keys_fix + keys_sod + (names if save_maps else [])))
        bar = _progress(len(samples), f"{dataset} ({label})", progress)
        stream = inference.run_batches(
            model, samples, read=lambda s: inference.read_image(s.image),
            batch_size=batch_size, input_size=size,
        )
        for sample, image, maps in stream:
            if maps is None:
                raise image  # a prepared image that cannot be read: the error names it
            shape = image.shape[:2]
            scorer.add(sample, {k: to_uint8(inference.upsample(maps[k], shape)) for k in wanted})
            bar.update(1)
        bar.close()
        warnings = training_warnings(dataset, split, config, asnet_model=True)
        warnings += _scorer_warnings(scorer)
        settings = _settings(inference.UPSAMPLING, size, batch_size, seed, jitter, n_splits,
                             keys_fix + keys_sod, limit)
        all_results[dataset] = _assemble(dataset, split, scorer, source, settings, warnings)
    if out is not None:
        write_outputs(all_results, out, label)
    return all_results


def evaluate_pred_dir(
    pred_dir,
    data,
    datasets=DEFAULT_DATASETS,
    out=None,
    *,
    split=DEFAULT_SPLIT,
    seed=0,
    jitter=True,
    n_splits=100,
    limit=None,
    name=None,
    progress=True,
    batch_size=None,
    allow_missing=False,
    max_map_shrink=pred_dir_checks.DEFAULT_MAX_SHRINK,
):
    """Score a folder of precomputed maps (any method) against prepared datasets.

    Maps are grey images named by image id: `pred_dir/<dataset>/<id>.png` (any of
    `MAP_EXTENSIONS`), or `pred_dir/<id>.png` when one dataset is scored. A colour map
    is read through its first (red) channel, 16-bit maps are scaled to 8 bits. Every id
    of the split must have a map (`allow_missing`: score those that have one). The map
    is scored under the key ``"maps"`` in both sections; sizes that differ from the
    ground truth are resized by the metrics. Maps of a suspicious size, files matching
    no id and missing maps are named in warnings and in `results.json`
    (`pred_dir_checks`; docs/data_integrity.md §6).

    Args and return value as in `evaluate_model` (`batch_size` is only recorded), plus:
        allow_missing: score the images that have maps instead of raising
            FileNotFoundError; the missing ones are counted and named.
        max_map_shrink: flag maps smaller than their ground truth by more than this
            factor on a side (maps whose aspect ratio differs are always flagged).
    """
    datasets = _dataset_list(datasets)
    prepared.check_prepared(data, datasets, split)
    pred_dir = os.fspath(pred_dir)
    if not os.path.isdir(pred_dir):
        raise FileNotFoundError(f"--pred-dir {pred_dir}: no such folder")
    source = {"weights": None, "pred_dir": pred_dir, "model_config": None}
    label = name or _default_name(pred_dir, "maps")
    all_results = {}
    for dataset in datasets:
        samples = _limit(prepared.samples(data, dataset, split), limit)
        folder = _pred_folder(pred_dir, dataset, len(datasets))
        checks = pred_dir_checks.PredDirChecks(folder, dataset, split, max_map_shrink,
                                               allow_missing)
        pairs = checks.match(samples, prepared.read_ids(data, dataset, split))
        has_fix, has_mask = _label_presence(samples)
        scorer = DatasetScorer(
            data, dataset, split, [PRED_DIR_KEY] if has_fix else [],
            [PRED_DIR_KEY] if has_mask else [], seed=seed, jitter=jitter, n_splits=n_splits,
        )
        bar = _progress(len(samples), f"{dataset} ({label})", progress)
        for sample, path in pairs:
            array = read_map(path)
            checks.check_size(sample, path, array.shape[:2])
            scorer.add(sample, {PRED_DIR_KEY: array})
            bar.update(1)
        bar.close()
        warnings = _scorer_warnings(scorer) + checks.warnings()
        if dataset in TRAINED_ON_ASNET:
            warnings.append(
                f"'{dataset}' is one of ASNet's training sets (paper §3.3): if these maps "
                "come from ASNet (or another method trained on it), the scores are not a "
                "held-out test."
            )
        settings = _settings(PRED_DIR_UPSAMPLING, None, batch_size, seed, jitter, n_splits,
                             [PRED_DIR_KEY], limit)
        all_results[dataset] = _assemble(dataset, split, scorer, source, settings, warnings)
        all_results[dataset]["pred_dir_checks"] = checks.to_json()
    if out is not None:
        write_outputs(all_results, out, label)
    return all_results


def read_map(path):
    """A saved prediction as uint8 (H, W): grey as is, colour by its first (R) channel,
    alpha ignored, 16-bit scaled to 8 bits (METRICS.md §B.0 step 1)."""
    array = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise inference.ImageReadError(f"{path}: cannot read this map")
    if array.ndim == 3:
        array = array[:, :, 2] if array.shape[2] >= 3 else array[:, :, 0]
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return to_uint8(array)


def _dataset_list(datasets):
    if isinstance(datasets, str):
        datasets = datasets.split(",")
    datasets = [d.strip() for d in datasets if d.strip()]
    if not datasets:
        raise ValueError("no dataset given: pass e.g. --datasets ecssd,pascal-s")
    return datasets


def _default_name(path, fallback):
    if not path:
        return fallback
    base = os.path.basename(os.path.normpath(path))
    for ext in (".weights.h5", ".keras", ".h5"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base or fallback


def _pred_folder(pred_dir, dataset, n_datasets):
    sub = os.path.join(pred_dir, dataset)
    if os.path.isdir(sub):
        return sub
    if n_datasets == 1:
        return pred_dir
    raise FileNotFoundError(
        f"--pred-dir {pred_dir}: no subfolder '{dataset}'. With several datasets, put "
        f"each dataset's maps in {pred_dir}/<dataset>/<id>.png."
    )


def _scorer_warnings(scorer):
    if scorer.fixation and scorer.missing_other:
        return [
            f"{scorer.missing_other} images have no entry in fixations.npz: their sAUC "
            "is NaN (counted in nan_count)."
        ]
    return []


def _assemble(dataset, split, scorer, source, settings, warnings):
    sections = scorer.results()
    return {
        "dataset": dataset,
        "split": split,
        "n_images": scorer.n_images,
        "source": source,
        "settings": settings,
        "warnings": warnings,
        "fixation": sections["fixation"],
        "salient_object": sections["salient_object"],
    }


# ------------------------------------------------------------------------ reports


def _fmt(value, nan_count=0):
    if value is None:
        return "–"
    text = "NaN" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}"
    return f"{text} ({nan_count} NaN)" if nan_count else text


def _row_label(key, label):
    if key == PRED_DIR_KEY:
        return label
    return f"{ROW_NAMES.get(key, key)} (`{key}`)"


def _fp_rows(dataset_results, label):
    rows = []
    for key, r in dataset_results["fixation"].items():
        cells = [_fmt(r[m], r["nan_count"][m]) for _, m in FP_COLUMNS]
        rows.append([_row_label(key, label), *cells])
    return rows


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def dataset_markdown(results, label="ASNet"):
    """The paper-style tables of one dataset's results (results.md)."""
    r = results
    lines = [f"# {r['dataset']} ({r['split']}, {r['n_images']} images): {label}", ""]
    source = r["source"]
    lines.append(f"Source: weights `{source['weights']}`" if source["weights"]
                 else f"Source: maps in `{source['pred_dir']}`" if source["pred_dir"]
                 else "Source: in-memory model")
    lines.append(f"Upsampling: {r['settings']['upsampling']}.")
    for w in r["warnings"]:
        lines.append(f"\n> **Warning:** {w}")
    lines.append("")
    if r["fixation"]:
        lines += ["## Fixation prediction (Tables 2–3 layout)", ""]
        lines.append(_table(["Model", *(f"{c} ↑" for c, _ in FP_COLUMNS)], _fp_rows(r, label)))
        lines.append("")
    if r["salient_object"]:
        lines += ["## Salient object detection (Tables 4–5 layout)", ""]
        rows = [[_row_label(k, label), _fmt(v["maxF"]), _fmt(v["MAE"])]
                for k, v in r["salient_object"].items()]
        lines.append(_table(["Model", "maxF ↑", "MAE ↓"], rows))
        lines += ["", "maxF is the max over thresholds of the mean-over-images F curve; "
                  "maxF_PR is F(mean precision, mean recall), the older toolboxes' "
                  "convention. Other measures:", ""]
        rows = [[_row_label(k, label),
                 *(_fmt(v[m], v.get("nan_count", {}).get(m, 0)) for m in SOD_EXTRA_COLUMNS)]
                for k, v in r["salient_object"].items()]
        lines.append(_table(["Model", *SOD_EXTRA_COLUMNS], rows))
        lines.append("")
    if not r["fixation"] and not r["salient_object"]:
        lines.append("No image of this split has fixations or a mask: nothing to score.")
    return "\n".join(lines) + "\n"


def summary_markdown(all_results, label="ASNet"):
    """All datasets in two tables: FP (Tables 2–3) and SOD (Table 4), plus maxF_PR."""
    lines = [f"# Evaluation summary: {label}", ""]
    fp_rows = []
    for dataset, r in all_results.items():
        for row in _fp_rows(r, label):
            fp_rows.append([dataset, *row])
    if fp_rows:
        lines += ["## Fixation prediction", ""]
        lines.append(_table(["Dataset", "Model", *(f"{c} ↑" for c, _ in FP_COLUMNS)], fp_rows))
        lines.append("")
    sod = {d: r["salient_object"] for d, r in all_results.items() if r["salient_object"]}
    if sod:
        keys = list(dict.fromkeys(k for section in sod.values() for k in section))
        header = ["Model"] + [f"{d} {m}" for d in sod for m in ("maxF ↑", "MAE ↓")]
        rows, rows_pr = [], []
        for key in keys:
            row, row_pr = [_row_label(key, label)], [_row_label(key, label)]
            for section in sod.values():
                v = section.get(key)
                row += [_fmt(v["maxF"]), _fmt(v["MAE"])] if v else ["–", "–"]
                row_pr.append(_fmt(v["maxF_PR"]) if v else "–")
            rows.append(row)
            rows_pr.append(row_pr)
        lines += ["## Salient object detection", "", _table(header, rows), ""]
        lines += ["maxF_PR: F-measure of the mean precision and mean recall curves (older "
                  "toolboxes' convention), for comparison with papers that "
                  "used it:", ""]
        lines += [_table(["Model", *(f"{d} maxF_PR ↑" for d in sod)], rows_pr), ""]
    warnings = [(d, w) for d, r in all_results.items() for w in r["warnings"]]
    if warnings:
        lines += ["## Warnings", ""] + [f"- {d}: {w}" for d, w in warnings] + [""]
    return "\n".join(lines)


def write_outputs(all_results, out, label="ASNet"):
    """Write results.json/.md per dataset, summary.md and pr_curves.png under `out`."""
    os.makedirs(out, exist_ok=True)
    for dataset, r in all_results.items():
        folder = os.path.join(out, dataset)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "results.json"), "w", encoding="utf-8") as f:
            json.dump(r, f, indent=1)
        with open(os.path.join(folder, "results.md"), "w", encoding="utf-8") as f:
            f.write(dataset_markdown(r, label))
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(summary_markdown(all_results, label))
    curves = {
        dataset: {_plain_label(k, label): v for k, v in r["salient_object"].items()}
        for dataset, r in all_results.items() if r["salient_object"]
    }
    if curves:
        from asnet_keras.plots import plot_pr_curves_by_dataset

        plot_pr_curves_by_dataset(curves, os.path.join(out, "pr_curves.png"))


def _plain_label(key, label):
    return label if key in (PRED_DIR_KEY, "saliency_conv1") else ROW_NAMES.get(key, key)


# ---------------------------------------------------------------------------- CLI


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.evaluate",
        description=(
            "Score a trained ASNet (--weights) or a folder of any method's saliency maps "
            "(--pred-dir) on prepared test sets (paper §4; metrics of the MIT saliency benchmark and "
            "PySODMetrics, see asnet_keras.metrics). "
            "Writes OUT/<dataset>/results.json and results.md, OUT/summary.md and "
            "OUT/pr_curves.png."
        ),
        epilog=(
            "Examples:\n"
            "  python -m asnet_keras.evaluate --weights runs/paper --data data/prepared --out eval\n"
            "  python -m asnet_keras.evaluate --weights runs/paper/best.keras --datasets ecssd "
            "--all-outputs --save-maps --out eval\n"
            "  python -m asnet_keras.evaluate --pred-dir maps/OTHER --datasets ecssd,hku-is "
            "--data data/prepared --out eval_other\n"
            "Prepare the data first: python -m data_prep DATASET --src RAW --dst data/prepared"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", help="trained model: run folder, .keras, .h5 or .weights.h5")
    source.add_argument("--pred-dir", help="folder of precomputed maps: <dir>/<dataset>/<id>.png "
                        "(or <dir>/<id>.png for one dataset)")
    parser.add_argument("--data", default="data/prepared", help="prepared data root (default: %(default)s)")
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS),
                        help="comma-separated prepared dataset names (default: %(default)s)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="split to score (default: %(default)s)")
    parser.add_argument("--out", default="eval", help="output folder (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default: %(default)s)")
    parser.add_argument("--input-size", type=int, default=None,
                        help="model input side if the saved model has none (default: the model's, else 224)")
    parser.add_argument("--save-maps", action="store_true",
                        help="write every map as OUT/<dataset>/maps/<output>/<id>.png")
    parser.add_argument("--all-outputs", action="store_true",
                        help="also score saliency_conv5 … conv2 (Table 5 rows)")
    parser.add_argument("--seed", type=int, default=0, help="seed of AUC-Judd jitter and sAUC draws")
    parser.add_argument("--n-splits", type=int, default=100, help="sAUC splits (MIT: 100)")
    parser.add_argument("--no-jitter", action="store_true", help="AUC-Judd without jitter (exact ties)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N images per dataset")
    parser.add_argument("--allow-missing", action="store_true",
                        help="--pred-dir: score the images that have a map; the missing ones "
                        "are counted and named in results.json (default: a missing map stops "
                        "the evaluation)")
    parser.add_argument("--max-map-shrink", type=float, default=pred_dir_checks.DEFAULT_MAX_SHRINK,
                        help="--pred-dir: warn about maps smaller than their ground truth by "
                        "more than this factor on a side (0: off; maps of another aspect ratio "
                        "are always named) (default: %(default)s)")
    parser.add_argument("--name", default=None, help="label of the method in tables and plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status (0 on success)."""
    args = build_parser().parse_args(argv)
    common = dict(split=args.split, seed=args.seed, jitter=not args.no_jitter,
                  n_splits=args.n_splits, limit=args.limit, name=args.name,
                  progress=not args.quiet, batch_size=args.batch_size)
    try:
        if args.weights:
            results = evaluate_model(args.weights, args.data, args.datasets, args.out,
                                     input_size=args.input_size, save_maps=args.save_maps,
                                     all_outputs=args.all_outputs, **common)
        else:
            results = evaluate_pred_dir(args.pred_dir, args.data, args.datasets, args.out,
                                        allow_missing=args.allow_missing,
                                        max_map_shrink=args.max_map_shrink, **common)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for dataset, r in results.items():
        for w in r["warnings"]:
            print(f"warning: {dataset}: {w}", file=sys.stderr)
    with open(os.path.join(args.out, "summary.md"), encoding="utf-8") as f:
        print(f.read())
    print(f"Results written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
