"""`asnet demo`: the whole job on built-in data, `make demo` on a fresh machine with no dataset.

    asnet demo --out demo

Five phases, each timed and printed:

1. data: the synthetic prepared datasets (`data_prep.synthetic`): fixation-only,
   mask-only and doubly-labelled scenes, like ASNet's SALICON / THUS10K / DUT-OMRON mix,
   plus a held-out `synthetic-both/test` split with masks and fixations;
2. train: the paper configuration (`asnet train`), VGG16 initialised from ImageNet
   when Keras' cached no-top weights file is present, from scratch otherwise (said in
   the report); smaller inputs and fewer steps than the paper so it fits in minutes;
3. evaluate: the trained model on the held-out test split (`asnet evaluate`);
4. baseline: a centre-bias map (an image-sized Gaussian) scored through the same
   `--pred-dir` path, the classic reference a saliency model must beat;
5. report: `OUT/report/` with README.md (settings, timings, model vs baseline),
   metrics.json, pr_curve.png and qualitative.png.

`--quick` shrinks everything (tiny images, two training steps) to check the pipeline
in about a minute; its numbers mean nothing.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from asnet_keras.commands import run_command
from asnet_keras.data.layout import samples
from asnet_keras.evaluation.api import evaluate_model, evaluate_pred_dir
from asnet_keras.evaluation.plots import plot_pr_curves, plot_qualitative_grid
from asnet_keras.evaluation.pred_dir import PRED_DIR_KEY
from asnet_keras.formatting import format_number, markdown_table
from asnet_keras.inference.images import read_grey
from asnet_keras.io import read_image
from asnet_keras.names import FINAL_OUTPUT, FIXATION_OUTPUT
from asnet_keras.names import SYNTHETIC_DATASETS as DATASETS
from asnet_keras.names import SYNTHETIC_TEST_DATASET as TEST_DATASET
from asnet_keras.training.config import TrainConfig
from asnet_keras.training.loop import train
from data_prep.synthetic import make_synthetic

IMAGENET_FILE = os.path.join(
    os.path.expanduser("~"), ".keras", "models", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
CENTRE_BIAS_SIGMA = 0.25  # of each side: the Gaussian of the centre-bias baseline
FP_METRICS = ("auc_judd", "sim", "sauc", "cc", "nss")
SOD_METRICS = ("maxF", "maxF_PR", "meanF", "MAE", "S", "maxE", "wF")
LOWER_IS_BETTER = {"MAE"}


@dataclass
class DemoSettings:
    """Sizes of the demo.

    `FULL` costs about 1,130 CPU-seconds in all (measured: 1,111 s user + 17 s system,
    33 min wall on 2 cores shared with other jobs at load ~10), i.e. roughly 10–12 min
    on two idle cores; ASNet already beats the centre bias on every measure after its
    second epoch.
    """

    n_train: int  # training images per synthetic source
    n_test: int  # held-out synthetic-both test images
    image_size: int  # longer side of the synthetic images (px)
    input_size: int  # model input side (paper: 224)
    batch_size: int
    epochs: int
    steps_per_epoch: int
    learning_rate: float
    lr_decay_epochs: int
    n_splits: int  # sAUC splits
    n_qualitative: int  # rows of the qualitative grid


FULL = DemoSettings(n_train=200, n_test=60, image_size=128, input_size=64, batch_size=8,
                    epochs=4, steps_per_epoch=50, learning_rate=3e-4, lr_decay_epochs=3,
                    n_splits=100, n_qualitative=4)
QUICK = DemoSettings(n_train=6, n_test=6, image_size=48, input_size=32, batch_size=2,
                     epochs=1, steps_per_epoch=2, learning_rate=1e-4, lr_decay_epochs=2,
                     n_splits=10, n_qualitative=2)


def backbone_choice():
    """("imagenet" | "none", sentence for the report)."""
    if os.path.isfile(IMAGENET_FILE):
        return "imagenet", f"VGG16 initialised from ImageNet (cached weights {IMAGENET_FILE})."
    return "none", (
        f"VGG16 trained from scratch: the ImageNet weights are not on this machine "
        f"({IMAGENET_FILE} is absent, and the demo downloads nothing). Put that file "
        "there to start from ImageNet, as the paper does."
    )


def centre_bias_map(height, width, sigma=CENTRE_BIAS_SIGMA):
    """uint8 (H, W) Gaussian centred on the image, σ = `sigma` × each side, peak 255."""
    y = (np.arange(height) - (height - 1) / 2) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2) / (sigma * width)
    gauss = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return np.rint(255 * gauss / gauss.max()).astype(np.uint8)


def write_centre_bias(data, folder):
    """Write the centre-bias map of every test image to `folder/<dataset>/<id>.png`."""
    target = os.path.join(folder, TEST_DATASET)
    os.makedirs(target, exist_ok=True)
    for sample in samples(data, TEST_DATASET, "test"):
        height, width = cv2.imread(sample.image).shape[:2]
        cv2.imwrite(os.path.join(target, sample.id + ".png"), centre_bias_map(height, width))
    return folder


def _headline(results):
    """The numbers compared in the report: FP and SOD, from one results.json dict."""
    fixation = next(iter(results["fixation"].values()))
    sod = next(iter(results["salient_object"].values()))
    out = {m: fixation[m] for m in FP_METRICS}
    out.update({m: sod[m] for m in SOD_METRICS})
    return out


def compare(model, baseline):
    """Per metric: model, baseline, and whether the model is better."""
    rows = {}
    for metric, value in model.items():
        other = baseline[metric]
        better = value < other if metric in LOWER_IS_BETTER else value > other
        rows[metric] = {"asnet": value, "centre_bias": other, "asnet_better": bool(better)}
    return rows


def _report_markdown(settings, backbone_sentence, timings, comparison, quick, n_test, load):
    names = {"auc_judd": "AUC-J", "sim": "SIM", "sauc": "s-AUC", "cc": "CC", "nss": "NSS"}
    lines = ["# ASNet demo on synthetic data", ""]
    if quick:
        lines += ["> **Quick mode** (`--quick`): a pipeline check with tiny images and two "
                  "training steps; the numbers below mean nothing.", ""]
    wins = sum(r["asnet_better"] for r in comparison.values())
    lines += [
        f"Trained ASNet (paper configuration) on the synthetic datasets "
        f"{', '.join(DATASETS)} and scored it on the held-out `{TEST_DATASET}/test` split "
        f"({n_test} images, never seen in training), against a centre-bias baseline "
        f"(a Gaussian with σ = {CENTRE_BIAS_SIGMA} × each image side).",
        "",
        f"- Initialisation: {backbone_sentence}",
        f"- Settings: input {settings.input_size} px (paper 224), {settings.epochs} epochs × "
        f"{settings.steps_per_epoch} steps of {settings.batch_size} images, Adam "
        f"{settings.learning_rate:g} divided by 10 every {settings.lr_decay_epochs} epochs; "
        f"{settings.n_train} training images per source, synthetic images of "
        f"{settings.image_size} px.",
        f"- Result: ASNet beats the centre bias on {wins} of {len(comparison)} measures.",
        "",
    ]
    rows = []
    for metric, r in comparison.items():
        label = names.get(metric, metric) + (" ↓" if metric in LOWER_IS_BETTER else " ↑")
        mark = "ASNet better" if r["asnet_better"] else "**baseline better**"
        rows.append([label, format_number(r["asnet"], 4), format_number(r["centre_bias"], 4), mark])
    lines.append(markdown_table(["Measure", "ASNet", "Centre bias", ""], rows))
    lines += [
        "",
        "Fixation measures (AUC-J … NSS) are for the `fixation` output (input/16 side), "
        "salient-object measures for `saliency_conv1`, both upsampled bilinearly to the "
        "image size. maxF_PR is F(mean precision, mean recall), the older toolboxes' convention.",
        "",
        "## Time",
        "",
        markdown_table(["Phase", "Seconds"],
                       [[phase, format_number(seconds, 1)] for phase, seconds in timings.items()]),
    ]
    if load is not None:
        lines += ["", f"Machine: {os.cpu_count()} CPU cores, load average at the end "
                  f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)."]
    lines += [
        "",
        "## Files",
        "",
        "- `metrics.json`: the numbers above, settings and timings; full per-image "
        "results in `../eval/asnet/` and `../eval/centre-bias/` (results.json, results.md).",
        "- `pr_curve.png`: precision-recall curves of ASNet and the centre bias.",
        "- `qualitative.png`: test images, ASNet's fixation and saliency maps, ground truth.",
        "",
    ]
    return "\n".join(lines)


def _qualitative_rows(data, maps_dir, n):
    """Images, saved maps and masks of the first `n` test images (qualitative.png)."""
    rows, labels = [], []
    for sample in samples(data, TEST_DATASET, "test")[:n]:
        rows.append({
            "image": read_image(sample.image),
            "fixation": read_grey(os.path.join(maps_dir, FIXATION_OUTPUT, sample.id + ".png")),
            "saliency": read_grey(os.path.join(maps_dir, FINAL_OUTPUT, sample.id + ".png")),
            "gt": read_grey(sample.mask),
        })
        labels.append(sample.id)
    return rows, labels


def run_demo(out, quick=False, settings=None, progress=True):
    """Run the five phases under `out`; return the metrics.json dict.

    Args:
        out: output folder (data/, run/, eval/, baseline/, report/ go inside).
        quick: tiny settings (`QUICK`) for a pipeline check.
        settings: a `DemoSettings` overriding `FULL` / `QUICK`.
        progress: progress bars and training output.
    """
    settings = settings or (QUICK if quick else FULL)
    out = os.path.abspath(out)
    data = os.path.join(out, "data")
    run = os.path.join(out, "run-quick" if quick else "run")
    report = os.path.join(out, "report")
    timings = {}
    start = time.perf_counter()

    def phase(name, since):
        timings[name] = time.perf_counter() - since
        print(f"[demo] {name}: {timings[name]:.1f} s", flush=True)
        return time.perf_counter()

    t = time.perf_counter()
    print(f"[demo] 1/5 synthetic data → {data}", flush=True)
    make_synthetic(data, n=settings.n_train, size=settings.image_size, n_test=settings.n_test)
    t = phase("data", t)

    weights, backbone_sentence = backbone_choice()
    print(f"[demo] 2/5 training → {run}\n[demo] {backbone_sentence}", flush=True)
    train(TrainConfig(
        data=data, out=run, datasets=DATASETS, input_size=settings.input_size,
        batch_size=settings.batch_size, epochs=settings.epochs,
        steps_per_epoch=settings.steps_per_epoch, learning_rate=settings.learning_rate,
        lr_decay_epochs=settings.lr_decay_epochs, patience=settings.epochs,
        backbone_weights=weights, verbose=1 if progress else 0,
    ))
    t = phase("train", t)

    print(f"[demo] 3/5 evaluating on {TEST_DATASET}/test", flush=True)
    eval_dir = os.path.join(out, "eval")
    model_results = evaluate_model(
        run, data, [TEST_DATASET], os.path.join(eval_dir, "asnet"), save_maps=True,
        n_splits=settings.n_splits, name="ASNet", progress=progress,
    )[TEST_DATASET]
    t = phase("evaluate", t)

    print("[demo] 4/5 centre-bias baseline", flush=True)
    baseline_dir = write_centre_bias(data, os.path.join(out, "baseline"))
    baseline_results = evaluate_pred_dir(
        baseline_dir, data, [TEST_DATASET], os.path.join(eval_dir, "centre-bias"),
        n_splits=settings.n_splits, name="Centre bias", progress=progress,
    )[TEST_DATASET]
    t = phase("baseline", t)

    print(f"[demo] 5/5 report → {report}", flush=True)
    os.makedirs(report, exist_ok=True)
    comparison = compare(_headline(model_results), _headline(baseline_results))
    plot_pr_curves(
        {"ASNet": model_results["salient_object"][FINAL_OUTPUT],
         "Centre bias": baseline_results["salient_object"][PRED_DIR_KEY]},
        os.path.join(report, "pr_curve.png"), title=f"{TEST_DATASET} test",
    )
    rows, labels = _qualitative_rows(
        data, os.path.join(eval_dir, "asnet", TEST_DATASET, "maps"), settings.n_qualitative
    )
    plot_qualitative_grid(rows, os.path.join(report, "qualitative.png"), row_labels=labels)
    t = phase("report", t)
    timings["total"] = time.perf_counter() - start
    load = os.getloadavg() if hasattr(os, "getloadavg") else None

    metrics = {
        "quick": bool(quick),
        "dataset": TEST_DATASET,
        "split": "test",
        "n_images": model_results["n_images"],
        "backbone_weights": weights,
        "initialisation": backbone_sentence,
        "settings": asdict(settings),
        "baseline": f"centre bias: Gaussian, sigma = {CENTRE_BIAS_SIGMA} x each image side",
        "comparison": comparison,
        "asnet_beats_baseline_on_all": all(r["asnet_better"] for r in comparison.values()),
        "timings_s": timings,
        "load_average": list(load) if load else None,
        "cpu_count": os.cpu_count(),
        "results": {"asnet": os.path.join(eval_dir, "asnet", TEST_DATASET, "results.json"),
                    "centre_bias": os.path.join(eval_dir, "centre-bias", TEST_DATASET,
                                                "results.json")},
    }
    with open(os.path.join(report, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=1)
    with open(os.path.join(report, "README.md"), "w", encoding="utf-8") as f:
        f.write(_report_markdown(settings, backbone_sentence, timings, comparison, quick,
                                 model_results["n_images"], load))
    print(f"[demo] total: {timings['total']:.1f} s; report in {report}/README.md", flush=True)
    return metrics


def build_parser():
    """The argparse parser of `asnet demo`."""
    parser = argparse.ArgumentParser(
        prog="asnet demo",
        description=(
            "The whole pipeline on built-in synthetic data, no download: generate data, "
            "train ASNet, evaluate it on a held-out test split against a centre-bias "
            "baseline, and write a report folder OUT/report/ (README.md, metrics.json, "
            "pr_curve.png, qualitative.png). About 1,100 CPU-seconds: 10-15 minutes on "
            "2 idle CPU cores."
        ),
    )
    parser.add_argument("--out", default="demo_out", help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and two training steps: a one-minute pipeline check")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args):
    """Run the demo, then print its report."""
    metrics = run_demo(args.out, quick=args.quick, progress=not args.quiet)
    with open(os.path.join(args.out, "report", "README.md"), encoding="utf-8") as f:
        print(f.read())
    if not metrics["quick"] and not metrics["asnet_beats_baseline_on_all"]:
        print("warning: ASNet did not beat the centre bias on every measure (see the "
              "report); the demo's training is short, try again on a less loaded machine "
              "or with ImageNet weights.", file=sys.stderr)


def main(argv=None):
    """`asnet demo`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
