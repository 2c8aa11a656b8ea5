"""Evaluation results as files: results.json and results.md per dataset, summary.md and
pr_curves.png over all datasets, laid out like the paper's Tables 2–5."""

import json
import os

from asnet_keras.evaluation.plots import plot_pr_curves_by_dataset
from asnet_keras.evaluation.pred_dir import PRED_DIR_KEY
from asnet_keras.formatting import MISSING, format_number, markdown_table
from asnet_keras.names import FINAL_OUTPUT, FIXATION_28_OUTPUT, FIXATION_OUTPUT

DECIMALS = 4  # results.md and summary.md

# Paper row names of each output (Tables 2–5).
ROW_NAMES = {
    FIXATION_OUTPUT: "ASNet",
    FIXATION_28_OUTPUT: "ASNet-28×28",
    FINAL_OUTPUT: "ASNet",
    "saliency_conv2": "conv2-output",
    "saliency_conv3": "conv3-output",
    "saliency_conv4": "conv4-output",
    "saliency_conv5": "conv5-output",
    "saliency_side_conv5": "side output (released)",
}
FP_COLUMNS = (("AUC-J", "auc_judd"), ("SIM", "sim"), ("s-AUC", "sauc"), ("CC", "cc"), ("NSS", "nss"))
SOD_EXTRA_COLUMNS = ("maxF_PR", "meanF", "adpF", "S", "maxE", "meanE", "adpE", "wF")


def _row_label(key, label):
    """A table row's label: the paper's row name and the output key."""
    if key == PRED_DIR_KEY:
        return label
    return f"{ROW_NAMES.get(key, key)} (`{key}`)"


def _fp_rows(dataset_results, label):
    """Fixation-metric rows (Tables 2–3 columns) of one dataset's results."""
    rows = []
    for key, r in dataset_results["fixation"].items():
        cells = [format_number(r[m], DECIMALS, nan_count=r["nan_count"][m]) for _, m in FP_COLUMNS]
        rows.append([_row_label(key, label), *cells])
    return rows


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
        lines.append(markdown_table(["Model", *(f"{c} ↑" for c, _ in FP_COLUMNS)], _fp_rows(r, label)))
        lines.append("")
    if r["salient_object"]:
        lines += ["## Salient object detection (Tables 4–5 layout)", ""]
        rows = [[_row_label(k, label), format_number(v["maxF"], DECIMALS), format_number(v["MAE"], DECIMALS)]
                for k, v in r["salient_object"].items()]
        lines.append(markdown_table(["Model", "maxF ↑", "MAE ↓"], rows))
        lines += ["", "maxF is the max over thresholds of the mean-over-images F curve; "
                  "maxF_PR is F(mean precision, mean recall), the older toolboxes' "
                  "convention. Other measures:", ""]
        rows = [[_row_label(k, label),
                 *(format_number(v[m], DECIMALS, nan_count=v.get("nan_count", {}).get(m, 0)) for m in SOD_EXTRA_COLUMNS)]
                for k, v in r["salient_object"].items()]
        lines.append(markdown_table(["Model", *SOD_EXTRA_COLUMNS], rows))
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
        lines.append(markdown_table(["Dataset", "Model", *(f"{c} ↑" for c, _ in FP_COLUMNS)], fp_rows))
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
                row += [format_number(v["maxF"], DECIMALS), format_number(v["MAE"], DECIMALS)] if v else [MISSING, MISSING]
                row_pr.append(format_number(v["maxF_PR"], DECIMALS) if v else MISSING)
            rows.append(row)
            rows_pr.append(row_pr)
        lines += ["## Salient object detection", "", markdown_table(header, rows), ""]
        lines += ["maxF_PR: F-measure of the mean precision and mean recall curves (older "
                  "toolboxes' convention), for comparison with papers that "
                  "used it:", ""]
        lines += [markdown_table(["Model", *(f"{d} maxF_PR ↑" for d in sod)], rows_pr), ""]
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
        plot_pr_curves_by_dataset(curves, os.path.join(out, "pr_curves.png"))


def _plain_label(key, label):
    """A curve's legend label in pr_curves.png."""
    return label if key in (PRED_DIR_KEY, FINAL_OUTPUT) else ROW_NAMES.get(key, key)
