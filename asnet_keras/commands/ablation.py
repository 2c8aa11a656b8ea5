"""`asnet ablation`: train and evaluate every Table 5 variant (``make ablation``), resumably.

Paper §4.2, docs/model.md §4. One folder per variant under ``--out``:

    OUT/ablation.json            the settings of the latest call
    OUT/<variant>/run/           training (`asnet train`: config.json, best.weights.h5,
                                 history.csv, finished.json when training ended normally)
    OUT/<variant>/eval/          evaluation (`asnet evaluate`: <dataset>/results.json,
                                 summary.md) and eval_done.json when it ended normally
    OUT/summary.md               ours per Table 5 row, and the paper's Table 5 beside them

The full variant is evaluated with ``--all-outputs``: its saliency_conv5 … saliency_conv2
maps are Table 5's conv5-output … conv2-output rows, without retraining. A variant whose
training finished is not trained again, and one whose evaluation finished is not evaluated
again, so an interrupted call is resumed by calling again with the same arguments.

Example:
    asnet ablation --data data/prepared --out results/ablation
    # smoke run on the synthetic data:
    asnet ablation --data /tmp/syn --out /tmp/abl --variants full,wo_extra \\
        --datasets synthetic-both --eval-datasets synthetic-both --input-size 32 --epochs 1 \\
        --steps-per-epoch 2 --backbone-weights none
"""

import argparse
import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from asnet_keras import reporting
from asnet_keras.commands import CommandFailed, positive, run_command
from asnet_keras.data.layout import check_prepared
from asnet_keras.evaluation.api import DEFAULT_SPLIT, evaluate_model
from asnet_keras.formatting import format_number, markdown_table, text_table
from asnet_keras.inference.loading import resolve_model_path
from asnet_keras.io.atomic_files import atomic_write_text
from asnet_keras.model.variants import INTERMEDIATE_ROWS, VARIANTS, get_variant
from asnet_keras.names import FINAL_OUTPUT, PAPER_TRAINING_DATASETS
from asnet_keras.training.config import TrainConfig
from asnet_keras.training.loop import train

EVAL_DATASETS = ("ecssd", "hku-is", "pascal-s")  # Table 5's columns
TRAIN_FINISHED = "finished.json"
EVAL_FINISHED = "eval_done.json"
# Settings that must match for a finished run to count as this call's run.
MATCHED_SETTINGS = ("input_size", "epochs", "steps_per_epoch", "variant", "datasets", "seed")


@dataclass
class AblationConfig:
    """Settings of an ablation call; each field is the command-line flag of the same name."""

    data: str
    out: str
    variants: list = field(default_factory=lambda: list(VARIANTS))
    datasets: list | None = None  # training datasets (None: training's default)
    eval_datasets: list = field(default_factory=lambda: list(EVAL_DATASETS))
    input_size: int = 224
    epochs: int = 12
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    backbone_weights: str = "imagenet"
    seed: int = 0
    save_maps: bool = False
    eval_batch_size: int | None = None

    def __post_init__(self):
        for name in self.variants:
            get_variant(name)  # ValueError naming the valid variants
        if not self.variants:
            raise ValueError("--variants is empty; pass some of " + ", ".join(VARIANTS))
        if not self.eval_datasets:
            raise ValueError("--eval-datasets is empty; pass e.g. " + ",".join(EVAL_DATASETS))


def run_dir(out, variant):
    return Path(out) / variant / "run"


def eval_dir(out, variant):
    return Path(out) / variant / "eval"


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(path, data):
    """Write `data` as JSON, completely or not at all (docs/data_integrity.md §5)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _train_kwargs(config, variant):
    """TrainConfig fields of one variant's training run."""
    kwargs = {
        "data": config.data,
        "out": os.fspath(run_dir(config.out, variant)),
        "datasets": config.datasets,
        "input_size": config.input_size,
        "epochs": config.epochs,
        "steps_per_epoch": config.steps_per_epoch,
        "batch_size": config.batch_size,
        "backbone_weights": config.backbone_weights,
        "variant": variant,
        "seed": config.seed,
    }
    return {k: v for k, v in kwargs.items() if v is not None}


def training_finished(config, variant):
    """True if the variant's run ended normally with this call's settings.

    Raises ValueError if it finished with other settings (a smoke run in the same folder,
    say): reusing it silently would put the wrong model into Table 5.
    """
    folder = run_dir(config.out, variant)
    if not (folder / TRAIN_FINISHED).is_file():
        return False
    saved = _read_json(folder / "config.json") or {}
    wanted = _train_kwargs(config, variant)
    differ = [f"{k}: {saved[k]!r} there, {wanted[k]!r} now" for k in MATCHED_SETTINGS
              if k in saved and k in wanted and saved[k] != wanted[k]]
    if differ:
        raise ValueError(
            f"{folder} holds a finished run with other settings ({'; '.join(differ)}). "
            f"Use another --out, or delete {folder.parent} to train this variant again.")
    return True


def evaluation_finished(config, variant):
    """True if the variant was evaluated on every eval dataset (with all outputs for full)."""
    folder = eval_dir(config.out, variant)
    done = _read_json(folder / EVAL_FINISHED)
    if not done:
        return False
    if not set(config.eval_datasets) <= set(done.get("datasets", ())):
        return False
    if variant == "full" and not done.get("all_outputs"):
        return False
    if config.save_maps and not done.get("save_maps"):
        return False
    return all((folder / d / "results.json").is_file() for d in config.eval_datasets)


def weights_of(folder):
    """The model file of a finished run (`asnet_keras.inference.loading.resolve_model_path`)."""
    try:
        return Path(resolve_model_path(folder))
    except ValueError as error:
        raise CommandFailed(f"{error} Delete {folder} and run the ablation again.") from None


def default_train(kwargs):
    """Train one variant in this process (`asnet_keras.training.loop.train`)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ValueError(f"TrainConfig (asnet_keras.training.config) has no field(s) {', '.join(unknown)}")
    import keras  # loads TensorFlow (seconds): not for `asnet ablation --help`

    keras.backend.clear_session()
    return train(TrainConfig(**kwargs))


def default_evaluate(run, data, datasets, out, all_outputs=False, save_maps=False,
                     batch_size=None):
    """Evaluate one training run folder in this process (`evaluate_model`)."""
    import keras  # loads TensorFlow (seconds): not for `asnet ablation --help`

    keras.backend.clear_session()
    kwargs = {"batch_size": batch_size} if batch_size else {}
    evaluate_model(os.fspath(run), data, list(datasets), os.fspath(out),
                   all_outputs=all_outputs, save_maps=save_maps, **kwargs)


def run_ablation(config, train_fn=None, evaluate_fn=None, log=print):
    """Train and evaluate each variant of ``config.variants`` that is not done yet.

    Args:
        config: an :class:`AblationConfig`.
        train_fn: ``f(train_kwargs)`` (default: :func:`default_train`).
        evaluate_fn: ``f(run, data, datasets, out, all_outputs, save_maps, batch_size)``
            with ``run`` the training run folder (default: :func:`default_evaluate`).

    Returns:
        ``{variant: {"trained": bool, "evaluated": bool}}``: what this call did (False:
        skipped, already done).
    """
    train_fn = train_fn or default_train
    evaluate_fn = evaluate_fn or default_evaluate
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "ablation.json", dataclasses.asdict(config))
    done = {}
    for i, name in enumerate(config.variants, 1):
        tag = f"[ablation {i}/{len(config.variants)}] {name} ({VARIANTS[name].label})"
        did = {"trained": False, "evaluated": False}
        if training_finished(config, name):
            log(f"{tag}: training finished before, skipped")
        else:
            start = time.perf_counter()
            log(f"{tag}: training -> {run_dir(out, name)}")
            train_fn(_train_kwargs(config, name))
            if not (run_dir(out, name) / TRAIN_FINISHED).is_file():
                raise CommandFailed(f"training of {name} returned without writing "
                                   f"{run_dir(out, name) / TRAIN_FINISHED}")
            did["trained"] = True
            log(f"{tag}: trained in {time.perf_counter() - start:.0f} s")
        if evaluation_finished(config, name) and not did["trained"]:
            log(f"{tag}: evaluation finished before, skipped")
        else:
            start = time.perf_counter()
            folder = eval_dir(out, name)
            marker = folder / EVAL_FINISHED
            if marker.exists():
                marker.unlink()
            all_outputs = name == "full"
            log(f"{tag}: evaluating on {', '.join(config.eval_datasets)} -> {folder}")
            weights_of(run_dir(out, name))  # a clear error if training saved no model
            evaluate_fn(run_dir(out, name), config.data, list(config.eval_datasets),
                        folder, all_outputs, config.save_maps, config.eval_batch_size)
            _write_json(marker, {"datasets": list(config.eval_datasets),
                                 "all_outputs": all_outputs, "save_maps": config.save_maps})
            did["evaluated"] = True
            log(f"{tag}: evaluated in {time.perf_counter() - start:.0f} s")
        done[name] = did
    summary = write_summary(config)
    log(summary)
    return done


def _summary_rows(config):
    """(label, variant, output) per Table 5 row that this call's variants can fill."""
    rows = [(VARIANTS["full"].label, "full", FINAL_OUTPUT)] if "full" in config.variants else []
    if "full" in config.variants:
        rows += [(label, "full", output) for label, output in INTERMEDIATE_ROWS.items()]
    rows += [(VARIANTS[v].label, v, FINAL_OUTPUT) for v in config.variants if v != "full"]
    return rows


def summary_table(config):
    """Ours per Table 5 row and eval dataset: maxF and MAE (text and Markdown)."""
    header = ["Table 5 row", "Variant"]
    for d in config.eval_datasets:
        header += [f"{d} maxF ↑", f"{d} MAE ↓"]
    rows = []
    for label, variant, output in _summary_rows(config):
        res = reporting.EvalResults(eval_dir(config.out, variant))
        cells = [label, variant if output == FINAL_OUTPUT else f"{variant} ({output})"]
        for d in config.eval_datasets:
            for key in ("maxF", "MAE"):
                cells.append(format_number(res.value(d, "salient_object", output, key)))
        rows.append(cells)
    return markdown_table(header, rows), text_table(header, rows)


def write_summary(config):
    """Write OUT/summary.md (ours, and the paper's Table 5 beside it); returns the text."""
    md, text = summary_table(config)
    parts = [f"# Ablation (Table 5): {config.out}", "", md, ""]
    paper_datasets = reporting.paper_table("table5").datasets
    mapping = None
    if set(paper_datasets) <= set(config.eval_datasets):
        mapping = {}
    elif len(config.eval_datasets) == 1:
        mapping = {"*": config.eval_datasets[0]}  # e.g. a smoke run on one synthetic set
    if mapping is not None:
        comparison = reporting.compare("table5", reporting.AblationResults(config.out, mapping))
        parts += ["## Paper and ours", "", comparison.markdown()]
    Path(config.out, "summary.md").write_text("\n".join(parts) + "\n", encoding="utf-8")
    return f"Ablation summary ({Path(config.out) / 'summary.md'}):\n{text}"


def _csv(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def build_parser():
    p = argparse.ArgumentParser(
        prog="asnet ablation",
        description="Train and evaluate the Table 5 variants, one folder per variant; "
                    "finished variants are skipped, so calling again resumes.")
    p.add_argument("--data", required=True, help="prepared data root")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per variant)")
    p.add_argument("--variants", type=_csv, default=list(VARIANTS),
                   help=f"comma-separated subset of: {', '.join(VARIANTS)} (default all)")
    p.add_argument("--datasets", type=_csv, default=None,
                   help="training datasets, comma-separated (default: training's default)")
    p.add_argument("--eval-datasets", type=_csv, default=list(EVAL_DATASETS),
                   help=f"evaluation datasets (default {','.join(EVAL_DATASETS)})")
    p.add_argument("--input-size", type=positive(int), default=224, help="input size in px (paper: 224)")
    p.add_argument("--epochs", type=positive(int), default=12, help="epochs (paper: 12)")
    p.add_argument("--steps-per-epoch", type=positive(int), default=None,
                   help="steps per epoch (default: one pass over the training data)")
    p.add_argument("--batch-size", type=positive(int), default=None,
                   help="training batch (default: training's)")
    p.add_argument("--backbone-weights", default="imagenet",
                   help="VGG16 initialisation: imagenet, none, or a .h5 path")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-maps", action="store_true", help="also save the predicted maps")
    p.add_argument("--eval-batch-size", type=positive(int), default=None)
    return p


def run(args):
    """Check that every dataset is prepared (before hours of training), then run."""
    config = AblationConfig(**vars(args))
    check_prepared(config.data, config.datasets or PAPER_TRAINING_DATASETS)
    check_prepared(config.data, config.eval_datasets, split=DEFAULT_SPLIT)
    run_ablation(config)


def main(argv=None):
    """`asnet ablation`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
