"""The report of a reproduction: OUT/report/README.md, report.json and two figures.

docs/reproduce.md §4. Everything in it is read back from what the stages wrote (the
results.json files of evaluation, the state file, the estimate), so the report of a
resumed run is the same as that of an uninterrupted one, times aside:

- a summary: data, training settings, initialisation, the datasets not found;
- per test dataset, ASNet beside the centre-bias baseline on the headline measures;
- Tables 2–4 of the paper with our rows and the differences under each ASNet row
  (`asnet_keras.reporting.compare`, the notebooks' tables);
- the time of each stage beside the estimate printed before training;
- the notebooks executed; `pr_curves.png` (Figure 5's panels, ASNet and the centre
  bias) and `qualitative.png` (Figure 6's layout, from the saved maps).
"""

import json
import os

from asnet_keras import reporting
from asnet_keras.evaluation.plots import plot_pr_curves_by_dataset
from asnet_keras.evaluation.pred_dir import PRED_DIR_KEY
from asnet_keras.evaluation.rendering import FP_COLUMNS
from asnet_keras.formatting import format_duration, format_number, markdown_table
from asnet_keras.io.atomic_files import atomic_write_text
from asnet_keras.names import FINAL_OUTPUT, FIXATION_OUTPUT
from asnet_keras.reproduction.baseline import CENTRE_BIAS_SIGMA

FP_METRICS = tuple(metric for _, metric in FP_COLUMNS)  # auc_judd, sim, sauc, cc, nss
SOD_METRICS = ("maxF", "maxF_PR", "meanF", "MAE", "S", "maxE", "wF")
LOWER_IS_BETTER = {"MAE"}
LABELS = {metric: label for label, metric in FP_COLUMNS}  # auc_judd → AUC-J, …
PAPER_TABLES = ("table2", "table3", "table4")  # what a reproduction fills (Table 5: ablation)
REPORT_MD, REPORT_JSON = "README.md", "report.json"
PR_FIGURE, QUALITATIVE_FIGURE = "pr_curves.png", "qualitative.png"


def compare(model, baseline):
    """Per metric: model, baseline, and whether the model is better (MAE: lower)."""
    rows = {}
    for metric, value in model.items():
        other = baseline.get(metric)
        if value is None or other is None:
            continue
        better = value < other if metric in LOWER_IS_BETTER else value > other
        rows[metric] = {"asnet": value, "centre_bias": other, "asnet_better": bool(better)}
    return rows


def headline(results, dataset, fixation_output, saliency_output):
    """The measures the report compares, from one `EvalResults`: the fixation metrics of
    `fixation_output` and the salient-object metrics of `saliency_output` (where the
    dataset has those labels); {metric: value}."""
    values = {m: results.value(dataset, "fixation", fixation_output, m) for m in FP_METRICS}
    values.update({m: results.value(dataset, "salient_object", saliency_output, m)
                   for m in SOD_METRICS})
    return {m: v for m, v in values.items() if v is not None}


def baseline_comparison(ours, baseline, datasets):
    """{dataset: compare(ASNet, centre bias)} over `datasets` that have results."""
    return {d: compare(headline(ours, d, FIXATION_OUTPUT, FINAL_OUTPUT),
                       headline(baseline, d, PRED_DIR_KEY, PRED_DIR_KEY))
            for d in datasets if ours.get(d) is not None and baseline.get(d) is not None}


def paper_tables(ours, missing):
    """{table id: Comparison} for Tables 2–4; a message about results that are missing
    only because their dataset was not found (named in `missing`) is replaced by a note."""
    tables = {}
    for table_id in PAPER_TABLES:
        comparison = reporting.compare(table_id, ours)
        lacking = [d for d in reporting.paper_table(table_id).datasets if d in missing]
        if lacking and set(ours.missing(reporting.paper_table(table_id).datasets)) <= set(lacking):
            comparison.messages = []
            comparison.notes.append(
                "Not found under RAW, so not evaluated: " + ", ".join(
                    f"{d} ({missing[d]})" for d in lacking)
                + ". Put it there and run the same command again.")
        tables[table_id] = comparison
    return tables


def _baseline_rows(comparison):
    rows = []
    for metric, r in comparison.items():
        label = LABELS.get(metric, metric) + (" ↓" if metric in LOWER_IS_BETTER else " ↑")
        mark = "ASNet better" if r["asnet_better"] else "**baseline better**"
        rows.append([label, format_number(r["asnet"], 4), format_number(r["centre_bias"], 4),
                     mark])
    return rows


def _time_rows(stages, estimate, did):
    """Stage | estimated | measured | this call."""
    planned = estimate.stages if estimate else {}
    rows = []
    for name, entry in stages.items():
        seconds = entry.get("seconds")
        rows.append([name, format_duration(planned.get(name)), format_duration(seconds),
                     {"ran": "ran", "skipped": "skipped (complete)"}.get(did.get(name), "—")])
    return rows


def write_figures(folder, ours, baseline, data, datasets, n_examples):
    """pr_curves.png and qualitative.png (where there are curves and saved maps);
    returns {figure: path} of those written."""
    written = {}
    curves, _ = reporting.pr_curves({"ASNet": ours, "Centre bias": baseline}, datasets)
    if curves:
        path = os.path.join(folder, PR_FIGURE)
        plot_pr_curves_by_dataset(curves, path)
        written["pr_curves"] = path
    examples = []
    for dataset in datasets:
        for example in reporting.qualitative_examples(ours, dataset, data, n=n_examples):
            examples.append({**example, "id": f"{ours.our_dataset(dataset)}/{example['id']}"})
    if examples:
        path = os.path.join(folder, QUALITATIVE_FIGURE)
        reporting.qualitative_figure(examples).savefig(path, format="png")
        written["qualitative"] = path
    return written


def summary_lines(facts):
    """The report's opening bullet points from `facts` (see `write_report`)."""
    config, missing = facts["train_config"], facts["missing"]
    steps = facts.get("steps_per_epoch") or config["steps_per_epoch"] or "all"
    lines = [
        f"- Data: {facts['source']}; trained on {', '.join(config['datasets'])}, tested on "
        f"{', '.join(facts['test_datasets']) or 'nothing (no test set found)'} "
        f"({sum(facts['n_images'].values())} test images, never seen in training).",
        f"- Initialisation: {facts['initialisation']}",
        f"- Training: input {config['input_size']} px (paper 224), {config['epochs']} epochs × "
        f"{steps} steps of {config['batch_size']} images, Adam {config['learning_rate']:g} "
        f"× {config['lr_decay_factor']:g} every {config['lr_decay_epochs']} epochs, early "
        f"stopping after {config['patience']} epochs without a lower validation loss "
        f"({facts['finished'] or 'not finished'}).",
        f"- Baseline: a centre-bias map (a Gaussian with σ = {CENTRE_BIAS_SIGMA} × each image "
        "side) scored through the same `--pred-dir` path.",
    ]
    comparison = facts["comparison"]
    if comparison:
        wins = sum(r["asnet_better"] for rows in comparison.values() for r in rows.values())
        total = sum(len(rows) for rows in comparison.values())
        lines.append(f"- Result: ASNet beats the centre bias on {wins} of {total} measures.")
    if missing:
        lines.append("- Not found under RAW: " + "; ".join(
            f"{d} ({where})" for d, where in missing.items()) + ".")
    return lines


def markdown(facts, tables, estimate, did):
    """The text of README.md."""
    lines = [f"# {facts['title']}", ""]
    if facts.get("note"):
        lines += [f"> {facts['note']}", ""]
    lines += summary_lines(facts) + ["", "## ASNet and the centre-bias baseline", ""]
    if not facts["comparison"]:
        lines += ["No test set was evaluated.", ""]
    for dataset, comparison in facts["comparison"].items():
        lines += [f"### {dataset} ({facts['n_images'].get(dataset, '?')} images)", "",
                  markdown_table(["Measure", "ASNet", "Centre bias", ""],
                                 _baseline_rows(comparison)), ""]
    lines += [
        "Fixation measures (AUC-J … NSS) are for the `fixation` output (input/16 side), "
        "salient-object measures for `saliency_conv1`, both upsampled bilinearly to the "
        "image size. maxF_PR is F(mean precision, mean recall), the older toolboxes' "
        "convention.", "", "## The paper's tables and ours", ""]
    if facts.get("dataset_map"):
        lines += [f"Our numbers come from `{facts['dataset_map']}` for every dataset of the "
                  "paper: they show the tables' layout, not a reproduction of the paper's "
                  "numbers.", ""]
    for comparison in tables.values():
        lines += [comparison.markdown(), ""]
    lines += ["## Time", "",
              markdown_table(["Stage", "Estimated", "Measured", "This call"],
                             _time_rows(facts["stages"], estimate, did)), ""]
    if estimate:
        lines += ["Estimate printed before training:", "", "```",
                  *estimate.lines(), "```", ""]
    load = facts.get("load_average")
    if load:
        lines += [f"Machine: {facts['cpu_count']} CPU cores, load average at the end "
                  f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min).", ""]
    lines += ["## Notebooks", "", facts["notebooks"]["text"], "", "## Files", "",
              "- `report.json`: everything above as numbers; `../state.json`: each stage's "
              "inputs, outputs and times.",
              "- `../eval/asnet/<dataset>/results.json`, `../eval/centre-bias/…`: every "
              "metric, per image too; `../run/`: the training run; `../notebooks/`: the "
              "executed notebooks."]
    for name, path in facts["figures"].items():
        lines.append(f"- `{os.path.basename(path)}`: "
                     + ("precision-recall curves of ASNet and the centre bias (Figure 5)."
                        if name == "pr_curves" else
                        "test images, ASNet's fixation and saliency maps, ground truth "
                        "(Figure 6)."))
    return "\n".join(lines) + "\n"


def write_report(folder, facts, tables, estimate, did):
    """Write README.md and report.json into `folder`; returns the report.json content.

    Args:
        folder: OUT/report.
        facts: what the pipeline knows (title, note, source, train_config, test_datasets,
            n_images, missing, comparison, initialisation, finished, stages, figures,
            notebooks, results, load_average, cpu_count, dataset_map).
        tables: {table id: Comparison} (`paper_tables`).
        estimate: the `Estimate`, or None.
        did: {stage: "ran" | "skipped"} of this call.
    """
    content = dict(facts)
    content["tables"] = {table_id: {"header": c.header, "ours": c.ours()}
                         for table_id, c in tables.items()}
    content["asnet_beats_baseline_on_all"] = all(
        r["asnet_better"] for rows in facts["comparison"].values() for r in rows.values())
    content["estimate"] = estimate.to_json() if estimate else None
    content["estimated_total_s"] = estimate.total_s if estimate else None
    content["this_call"] = did
    atomic_write_text(os.path.join(folder, REPORT_JSON),
                      json.dumps(content, indent=1, default=str) + "\n")
    atomic_write_text(os.path.join(folder, REPORT_MD), markdown(facts, tables, estimate, did))
    return content
