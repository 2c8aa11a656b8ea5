"""The paper's table beside ours: `compare`, `results_status`, and our overviews.

`compare(table_id, source)` lists every row of the paper's table and, under each ASNet
row, ours (from `EvalResults` / `AblationResults`) and the difference; what is missing
becomes a `Message` naming the command that produces it.

Example:
    >>> from asnet_keras import reporting
    >>> print(reporting.compare("table4", reporting.EvalResults("results/eval")).text())
"""

from dataclasses import dataclass

from asnet_keras.formatting import (
    escape_cell,
    format_difference,
    format_number,
    markdown_table,
    text_table,
)
from asnet_keras.model.variants import VARIANTS
from asnet_keras.names import FIXATION_28_OUTPUT
from asnet_keras.names import FINAL_OUTPUT as PR_OUTPUT
from asnet_keras.reporting.display import Message, RawTable
from asnet_keras.reporting.paper import load_paper, paper_table
from asnet_keras.reporting.results import AblationResults, _finite


# The commands that produce missing results (placeholders in capitals).
EVAL_COMMAND = (
    "make eval WEIGHTS=RUN_DIR DATA=DATA RESULTS={out} ARGS=\"--datasets {datasets}{flags}\"\n"
    "# or: asnet evaluate --weights RUN_DIR --data DATA "
    "--datasets {datasets} --out {out}{flags}"
)
ABLATION_COMMAND = "make ablation DATA=DATA OUT={out}"
ABLATION_SUBSET_COMMAND = (
    "asnet ablation --data DATA --out {out} --variants {variants}"
)
FIXATION_28_HINT = (
    "the model was trained without the 28×28 fixation output; train with "
    "`--fixation-28` (asnet train ... --fixation-28) and evaluate again"
)



@dataclass
class TableRow:
    kind: str  # "paper", "ours", "diff"
    label: str
    cells: list  # printed cells
    values: list  # floats or None


class Comparison:
    """A paper table with our rows and the differences under each ASNet row.

    ``rows`` holds :class:`TableRow`s (``kind`` "paper", "ours" or "diff"); ``text()`` and
    ``markdown()`` render them; ``notes`` lists where our numbers come from and what is
    missing (with commands in ``messages``).
    """

    def __init__(self, table, rows, notes=(), messages=()):
        self.table = table
        self.rows = rows
        self.notes = list(notes)
        self.messages = list(messages)

    @property
    def header(self):
        return ["Method", *(c.header for c in self.table.columns)]

    def ours(self):
        """Our rows: {label: [values]}."""
        return {r.label: r.values for r in self.rows if r.kind == "ours"}

    def text(self):
        parts = [f"{self.table.title}. {self.table.caption}",
                 text_table(self.header, [[r.label, *r.cells] for r in self.rows])]
        parts += list(self.table.footnotes)
        parts += self.notes
        parts += [m.text() for m in self.messages]
        return "\n".join(parts)

    def markdown(self):
        parts = [f"**{self.table.title}.** {self.table.caption}", "",
                 markdown_table(self.header, [[r.label, *r.cells] for r in self.rows]), ""]
        parts += [f"<small>{escape_cell(f)}</small><br>" for f in self.table.footnotes]
        parts += [""] + [f"- {n}" for n in self.notes]
        parts += ["", *(m.markdown() for m in self.messages)]
        return "\n".join(parts)

    def _repr_markdown_(self):
        return self.markdown()

    def __repr__(self):
        return self.text()

    __str__ = __repr__


def paper_only(table_id):
    """The paper's table alone (every row as printed)."""
    table = paper_table(table_id)
    rows = [TableRow("paper", _row_label(r), list(r.printed), list(r.values)) for r in table.rows]
    return Comparison(table, rows, notes=[f"Source: the paper ({load_paper()['paper']})"])


def _row_label(row):
    return f"{row.aspect}: {row.method}" if row.aspect else row.method


def _source_for(source, spec):
    """The results of the model a paper row stands for (None: not in ``source``)."""
    variant = spec.get("variant", "full")
    if isinstance(source, AblationResults):
        return source.variant(variant)
    return source if variant == "full" else None  # one model's results: the full variant


def compare(table_id, source, extra_keys=None, decimals=3):
    """The paper's table ``table_id`` with ours and the difference under each ASNet row.

    Args:
        table_id: "table2" … "table5".
        source: :class:`EvalResults` (Tables 2–4) or :class:`AblationResults` (Table 5);
            None shows the paper's rows with empty rows of ours.
        extra_keys: for F-score columns, further keys to show in a row of their own
            (default ``("maxF_PR",)`` for Table 4, none for Table 5; see the notes of
            ``paper_results.json`` on the maxF convention).
        decimals: digits of our numbers and the differences.

    Returns:
        a :class:`Comparison` (renders itself in Jupyter).
    """
    table = paper_table(table_id)
    if extra_keys is None:
        extra_keys = ("maxF_PR",) if table_id == "table4" else ()
    rows, notes, missing_outputs = [], [], []
    for prow in table.rows:
        rows.append(TableRow("paper", _row_label(prow), list(prow.printed), list(prow.values)))
        if not prow.ours:
            continue
        src = _source_for(source, prow.ours) if source is not None else None
        output = prow.ours["output"]
        ours = [src.value(c.dataset, c.task, output, c.key) if src else None
                for c in table.columns]
        tag = f"{prow.method} (ours)"
        if isinstance(source, AblationResults) and prow.ours.get("variant"):
            tag = f"{prow.method} (ours: {prow.ours['variant']}"
            tag += f", {output})" if output != PR_OUTPUT else ")"
        rows.append(TableRow("ours", tag, [format_number(v, decimals) for v in ours], ours))
        for key in extra_keys:
            cols = [c for c in table.columns if c.key == "maxF"]
            if not cols:
                continue
            extra = [src.value(c.dataset, c.task, output, key)
                     if (src and c.key == "maxF") else None for c in table.columns]
            rows.append(TableRow("ours", f"{prow.method} (ours, {key})",
                                 [format_number(v, decimals) if c.key == "maxF" else ""
                                  for v, c in zip(extra, table.columns)], extra))
        diffs = [o - p if (o is not None and p is not None) else None
                 for o, p in zip(ours, prow.values)]
        if any(d is not None for d in diffs):
            cells = [format_difference(d, decimals) for d in diffs]
            rows.append(TableRow("diff", "Δ ours − paper", cells, diffs))
        if src is not None and all(v is None for v in ours):
            present = [d for d in table.datasets if src.get(d) is not None]
            if present and output not in src.outputs(present[0], table.task):
                missing_outputs.append((prow.method, output, src))
    messages = []
    if source is None:
        notes.append("No results of ours given: the rows of ours are empty.")
    else:
        notes += _source_notes(table, source)
        status = results_status(table_id, source)
        if status.level != "ok":
            messages.append(status)
    for method, output, src in missing_outputs:
        why = FIXATION_28_HINT if output == FIXATION_28_OUTPUT else (
            "evaluate with `--all-outputs`" if output.startswith("saliency_conv") else "")
        why = f" ({why})" if why else ""
        notes.append(f"{method}: output `{output}` is not in {src.folder}{why}.")
    if table.task == "salient_object":
        notes.append("F-score: ours is maxF (max over thresholds of the mean-over-images F curve, "
                     "β² = 0.3); the paper does not say which maxF convention it used "
                     "(see the notes of paper_results.json).")
    return Comparison(table, rows, notes, messages)


def _describe(src, dataset):
    data = src.get(dataset)
    if data is None:
        return f"{dataset}: missing ({src.path(dataset)})"
    n = data.get("n_images", "?")
    split = data.get("split", "?")
    origin = data.get("source") or {}
    weights = origin.get("weights") or origin.get("pred_dir")
    ours = src.our_dataset(dataset)
    name = dataset if ours == dataset else f"{dataset} → our `{ours}`"
    text = f"{name}: {n} images ({split} split)"
    if weights:
        text += f", from `{weights}`"
    warnings = data.get("warnings") or []
    if warnings:
        text += f"; {len(warnings)} warning(s): " + "; ".join(str(w) for w in warnings[:3])
    return text


def _source_notes(table, source):
    if isinstance(source, AblationResults):
        return [f"Ours: the ablation runs in `{source.folder}` (one folder per variant)."]
    return [f"Ours: `{source.folder}`"] + [_describe(source, d) for d in table.datasets]


def _names(source, datasets):
    """Our folder names of paper datasets, comma-separated, each once."""
    return ",".join(dict.fromkeys(source.our_dataset(d) for d in datasets))


def results_status(table_id, source):
    """A :class:`Message`: whether ``source`` has what ``table_id`` needs, and if not,
    which command produces it."""
    table = paper_table(table_id)
    datasets = list(table.datasets)
    if isinstance(source, AblationResults):
        variants = list(dict.fromkeys(r.ours["variant"] for r in table.rows if r.ours))
        if not source.exists:
            return Message(
                f"No ablation results: the folder {source.folder} does not exist.",
                ["The table shows the paper's rows only; the rows of ours stay empty until "
                 "the ablation runs exist.",
                 "Set ABLATION in the first cell (or the environment variable ASNET_ABLATION) "
                 "if they are elsewhere."],
                [ABLATION_COMMAND.format(out=source.folder)], level="missing")
        missing = source.missing(variants, datasets)
        if missing:
            return Message(
                f"Ablation results incomplete in {source.folder}: {len(missing)} of "
                f"{len(variants)} variants lack results for {', '.join(datasets)}: "
                f"{', '.join(missing)}.",
                ["Finished variants are not trained again when the runner is called again."],
                [ABLATION_SUBSET_COMMAND.format(out=source.folder, variants=",".join(missing)),
                 ABLATION_COMMAND.format(out=source.folder) + "   # or all variants"],
                level="missing")
        return Message(f"Ablation results complete in {source.folder}.", level="ok")
    flags = " --all-outputs" if table_id == "table5" else ""
    if not source.exists:
        return Message(
            f"No results: the folder {source.folder} does not exist.",
            ["The table shows the paper's rows only; the rows of ours stay empty until the "
             "evaluation results exist.",
             "Set RESULTS in the first cell (or the environment variable ASNET_RESULTS) if "
             "they are elsewhere."],
            [EVAL_COMMAND.format(datasets=_names(source, datasets), out=source.folder,
                                 flags=flags)],
            level="missing")
    missing = source.missing(datasets)
    if missing:
        lines = [f"expected {source.path(d)}" for d in missing]
        lines += [f"unreadable: {err}" for err in source.errors.values()]
        return Message(
            f"Results missing in {source.folder} for: {', '.join(missing)}.", lines,
            [EVAL_COMMAND.format(datasets=_names(source, missing), out=source.folder, flags=flags)],
            level="missing")
    return Message(f"Results found in {source.folder} for {', '.join(datasets)}.", level="ok")


def nan_summary(source, datasets, task, outputs=None):
    """A small table: per dataset and output, number of images and NaN counts per metric."""
    rows = []
    for dataset in datasets:
        data = source.get(dataset)
        if not data:
            continue
        for output, entry in (data.get(task) or {}).items():
            if outputs and output not in outputs:
                continue
            nan = entry.get("nan_count") or {}
            nans = ", ".join(f"{k}: {v}" for k, v in nan.items() if v) or "none"
            n = entry.get("n_images", data.get("n_images", "?"))
            rows.append([dataset, output, str(n), nans])
    if not rows:
        return Message("No per-output details (no results).")
    header = ["Dataset", "Output", "Images", "NaN images per metric"]
    return RawTable(markdown_table(header, rows), text_table(header, rows))


def our_metrics(source, datasets, task, outputs=None, decimals=3):
    """Every scalar metric of ours per dataset and output (more than the paper prints)."""
    rows, keys = [], []
    for dataset in datasets:
        data = source.get(dataset) or {}
        for output, entry in (data.get(task) or {}).items():
            if outputs and output not in outputs:
                continue
            scalars = {k: v for k, v in entry.items() if _finite(v) and k != "n_images"}
            keys += [k for k in scalars if k not in keys]
            n = entry.get("n_images", data.get("n_images", "?"))
            rows.append((dataset, output, n, scalars))
    if not rows:
        return Message("No results of ours to list.")
    header = ["Dataset", "Output", "Images", *keys]
    cells = [[d, o, str(n), *(format_number(s.get(k), decimals) for k in keys)] for d, o, n, s in rows]
    return RawTable(markdown_table(header, cells), text_table(header, cells))


def ablation_overview(source, datasets=None):
    """One line per Table 5 variant: trained?, evaluated on which datasets."""
    datasets = datasets or list(paper_table("table5").datasets)
    header = ["Variant", "Table 5 row", "Trained", "Evaluated", "Folder"]
    rows = []
    for name, variant in VARIANTS.items():
        run = source.folder / name / "run"
        trained = ("yes" if (run / "finished.json").is_file()
                   else "started" if run.is_dir() else "no")
        res = source.variant(name)
        have = [d for d in datasets if res.get(d) is not None]
        rows.append([name, variant.label, trained, ", ".join(have) or "no",
                     str(source.folder / name)])
    return RawTable(markdown_table(header, rows), text_table(header, rows))
