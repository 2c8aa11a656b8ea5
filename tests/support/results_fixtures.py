"""Fabricated evaluation results (the results.json schema of asnet evaluate), for
tests of the reporting code and the notebooks that need no trained model."""

import json
from pathlib import Path

import numpy as np

FIXATION_KEYS = ("auc_judd", "sauc", "nss", "cc", "sim")
SOD_KEYS = ("maxF", "meanF", "adpF", "maxF_PR", "MAE", "S", "maxE", "meanE", "adpE", "wF")


def _fixation_entry(rng, n):
    values = {"auc_judd": 0.8, "sauc": 0.7, "nss": 1.5, "cc": 0.5, "sim": 0.45}
    entry = {k: float(v + rng.uniform(-0.05, 0.05)) for k, v in values.items()}
    entry.update(nan_count={k: 0 for k in FIXATION_KEYS}, n_images=n, config={},
                 per_image={k: [entry[k]] * n for k in FIXATION_KEYS})
    return entry


def _sod_entry(rng, n, quality=0.8):
    t = np.arange(256)
    recall = np.clip(1.0 - t / 300.0, 0, 1)
    precision = np.clip(quality - 0.3 + t / 600.0, 0, 1)
    f = 1.3 * precision * recall / (0.3 * precision + recall + 1e-12)
    entry = {k: float(rng.uniform(0.5, 0.9)) for k in SOD_KEYS}
    entry["maxF"] = float(f.max())
    entry["maxF_PR"] = float(f.max()) + 0.001
    entry["MAE"] = float(rng.uniform(0.05, 0.2))
    entry["curves"] = {"threshold": t.tolist(), "precision": precision.tolist(),
                       "recall": recall.tolist(), "F": f.tolist(), "F_PR": f.tolist(),
                       "E": f.tolist()}
    entry.update(per_image={"MAE": [entry["MAE"]] * n}, nan_count={k: 0 for k in SOD_KEYS},
                 n_images=n)
    return entry


def results_json(dataset, fixation, salient_object, n=4, weights="runs/x/best.weights.h5"):
    """One dataset's results.json dict as evaluation writes it, with the given sections
    ({output: entry}; an entry holds each metric's value beside `n_images`, `nan_count`…)."""
    return {
        "dataset": dataset, "split": "test", "n_images": n,
        "source": {"weights": weights, "pred_dir": None, "model_config": {}},
        "settings": {}, "warnings": [],
        "fixation": fixation, "salient_object": salient_object,
    }


def _write(folder, dataset, data):
    (folder / dataset).mkdir(parents=True, exist_ok=True)
    (folder / dataset / "results.json").write_text(json.dumps(data), encoding="utf-8")


def write_results(folder, datasets, fixation_outputs=("fixation",),
                  sod_outputs=("saliency_conv1",), n=4, seed=0, weights="runs/x/best.weights.h5"):
    """Write ``folder/<dataset>/results.json`` for each dataset; returns the folder."""
    folder = Path(folder)
    for i, dataset in enumerate(datasets):
        rng = np.random.default_rng([seed, i])
        _write(folder, dataset, results_json(
            dataset, {o: _fixation_entry(rng, n) for o in fixation_outputs},
            {o: _sod_entry(rng, n) for o in sod_outputs}, n, weights))
    return folder


def write_known_results(folder, values, n=4, nan_count=None):
    """Write ``folder/<dataset>/results.json`` holding exactly ``values``:
    ``{dataset: {task: {output: {metric key: value}}}}``, in evaluation's schema (each
    entry also gets ``n_images``, ``per_image`` and ``nan_count``, the latter from
    ``nan_count``: ``{(dataset, output): {key: count}}``, else zeros). Returns the folder."""
    folder = Path(folder)
    nan_count = nan_count or {}
    for dataset, tasks in values.items():
        sections = {}
        for task in ("fixation", "salient_object"):
            sections[task] = {}
            for output, metrics in (tasks.get(task) or {}).items():
                nans = {k: 0 for k in metrics} | nan_count.get((dataset, output), {})
                sections[task][output] = dict(
                    metrics, n_images=n, nan_count=nans,
                    per_image={k: [v] * n for k, v in metrics.items()})
        _write(folder, dataset, results_json(dataset, sections["fixation"],
                                             sections["salient_object"], n))
    return folder


def write_ablation(folder, variants, datasets, n=4):
    """Fabricated ablation folder: ``<folder>/<variant>/{run/finished.json, eval/...}``."""
    folder = Path(folder)
    for i, variant in enumerate(variants):
        outputs = ("saliency_conv5", "saliency_conv4", "saliency_conv3", "saliency_conv2",
                   "saliency_conv1") if variant == "full" else ("saliency_conv1",)
        (folder / variant / "run").mkdir(parents=True, exist_ok=True)
        (folder / variant / "run" / "finished.json").write_text("{}", encoding="utf-8")
        write_results(folder / variant / "eval", datasets, sod_outputs=outputs, n=n, seed=i)
    return folder
