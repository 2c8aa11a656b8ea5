"""Score a trained ASNet, or a folder of any method's maps, on prepared test sets.

The Python API (`evaluate_model`, `evaluate_pred_dir`); the command line is
`asnet evaluate`.

Paper §4 (docs/model.md §4); every metric as specified in docs/metrics.md, computed by
`asnet_keras.metrics`. Two sources of maps, one scoring path:

- ``--weights W``: the model runs over each dataset in batches through the one
  prediction path that `predict` and the service run (`asnet_keras.inference.maps`):
  every output is upsampled to the image size (`images.UPSAMPLING`), rounded to uint8
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
    asnet evaluate --weights runs/paper --data data/prepared --out eval
    asnet evaluate --pred-dir maps/BASNet --datasets ecssd --out eval_basnet

Example (Python):
    >>> from asnet_keras import evaluate_model
    >>> results = evaluate_model("runs/paper", "data/prepared", ["ecssd"], out="eval")
    >>> results["ecssd"]["salient_object"]["saliency_conv1"]["maxF"]
"""

import os

from asnet_keras.data.layout import check_prepared
from asnet_keras.data.layout import samples as samples_of
from asnet_keras.evaluation.caveats import TRAINED_ON_ASNET, scorer_warnings, training_warnings
from asnet_keras.evaluation import pred_dir_checks
from asnet_keras.evaluation.pred_dir import (
    PRED_DIR_KEY,
    PRED_DIR_UPSAMPLING,
    pred_folder,
    read_map,
)
from asnet_keras.data.layout import read_ids
from asnet_keras.evaluation.rendering import write_outputs
from asnet_keras.evaluation.scoring import N_OTHER, DatasetScorer, label_presence
from asnet_keras.inference.images import INPUT_INTERPOLATION, UPSAMPLING
from asnet_keras.inference.loading import load_asnet, read_run_config
from asnet_keras.inference.maps import MapPipeline, model_input_size, output_names
from asnet_keras.io import read_image
from asnet_keras.names import FINAL_OUTPUT, PAPER_TEST_DATASETS

DEFAULT_DATASETS = PAPER_TEST_DATASETS
DEFAULT_SPLIT = "test"


def _limit(samples, limit):
    """The first `limit` samples (all when None)."""
    return samples if limit is None else samples[: int(limit)]


def _progress(total, desc, enabled):
    """A tqdm bar over images (disabled when not `enabled`)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False)


def _settings(upsampling, input_size, batch_size, seed, jitter, n_splits, outputs, limit):
    return {
        "upsampling": upsampling,
        "input_size": input_size,
        "batch_size": batch_size,
        "seed": int(seed),
        "jitter": bool(jitter),
        "n_splits": int(n_splits),
        "outputs": list(outputs),
        "input_interpolation": INPUT_INTERPOLATION if input_size else None,
        "map_quantisation": "uint8 = round(255 * clip(p, 0, 1)) (asnet_keras.metrics.to_uint8)",
        "sauc_other_fixations": (
            f"{N_OTHER} other images of the split, np.random.default_rng([seed, j]) for "
            "image j of fixations.npz; coordinates scaled (docs/metrics.md §A.2)"
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
        data: the prepared data root (docs/datasets.md §10).
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
    check_prepared(data, datasets, split)
    if save_maps and out is None:
        raise ValueError("save_maps=True needs an output folder: pass out=...")
    if isinstance(weights, (str, os.PathLike)):
        model = load_asnet(weights)
        weights_path, config = os.fspath(weights), read_run_config(weights)
    else:
        model, weights_path, config = weights, None, None
    names = output_names(model)
    size = model_input_size(model, input_size)
    fixation_keys = [n for n in names if n.startswith("fixation")]
    if FINAL_OUTPUT not in names:
        raise ValueError(f"the model has no '{FINAL_OUTPUT}' output (outputs: {names})")
    sod_keys = [FINAL_OUTPUT]
    if all_outputs:
        sod_keys += [n for n in names if n.startswith("saliency") and n != FINAL_OUTPUT]
    source = {"weights": weights_path, "pred_dir": None, "model_config": config}
    label = name or _default_name(weights_path, "ASNet")

    all_results = {}
    for dataset in datasets:
        samples = _limit(samples_of(data, dataset, split), limit)
        has_fix, has_mask = label_presence(samples)
        keys_fix = fixation_keys if has_fix else []
        keys_sod = sod_keys if has_mask else []
        maps_dir = os.path.join(out, dataset, "maps") if save_maps else None
        scorer = DatasetScorer(data, dataset, split, keys_fix, keys_sod, seed=seed,
                               jitter=jitter, n_splits=n_splits, maps_dir=maps_dir)
        wanted = list(dict.fromkeys(keys_fix + keys_sod + (names if save_maps else [])))
        pipeline = MapPipeline(model, wanted, input_size=size)
        bar = _progress(len(samples), f"{dataset} ({label})", progress)
        for sample, image, maps in pipeline.stream(samples, read=lambda s: read_image(s.image),
                                                   batch_size=batch_size):
            if maps is None:
                raise image  # a prepared image that cannot be read: the error names it
            scorer.add(sample, maps)  # every output uint8 at the image size
            bar.update(1)
        bar.close()
        warnings = training_warnings(dataset, split, config, asnet_model=True)
        warnings += scorer_warnings(scorer)
        settings = _settings(UPSAMPLING, size, batch_size, seed, jitter, n_splits,
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
    check_prepared(data, datasets, split)
    pred_dir = os.fspath(pred_dir)
    if not os.path.isdir(pred_dir):
        raise FileNotFoundError(f"--pred-dir {pred_dir}: no such folder")
    source = {"weights": None, "pred_dir": pred_dir, "model_config": None}
    label = name or _default_name(pred_dir, "maps")
    all_results = {}
    for dataset in datasets:
        samples = _limit(samples_of(data, dataset, split), limit)
        folder = pred_folder(pred_dir, dataset, len(datasets))
        checks = pred_dir_checks.PredDirChecks(folder, dataset, split, max_map_shrink,
                                               allow_missing)
        pairs = checks.match(samples, read_ids(data, dataset, split))
        has_fix, has_mask = label_presence(samples)
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
        warnings = scorer_warnings(scorer) + checks.warnings()
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


def _dataset_list(datasets):
    """Dataset names from a list or a comma-separated string; ValueError when empty."""
    if isinstance(datasets, str):
        datasets = datasets.split(",")
    datasets = [d.strip() for d in datasets if d.strip()]
    if not datasets:
        raise ValueError("no dataset given: pass e.g. --datasets ecssd,pascal-s")
    return datasets


def _default_name(path, fallback):
    """A method's label from its weights or maps path (file stem or folder name)."""
    if not path:
        return fallback
    base = os.path.basename(os.path.normpath(path))
    for ext in (".weights.h5", ".keras", ".h5"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base or fallback


def _assemble(dataset, split, scorer, source, settings, warnings):
    """The results.json dict of one dataset."""
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
