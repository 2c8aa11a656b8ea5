"""The paper's tables beside ours: what the notebooks (issue #6) show.

Reads the paper's numbers from the package file ``paper_results.json`` (Tables 2–5,
typed once from the paper) and the ``results.json`` files that evaluation writes
(``<folder>/<dataset>/results.json``, one folder per evaluated model; the ablation runner
puts one such folder per variant at ``<ablation>/<variant>/eval``), and builds plain
Markdown / text tables: every row of the paper's table, and under each ASNet row ours and
the difference. Nothing here raises on missing results: a table then shows the paper's
rows, and a :class:`Message` names the command that produces what is missing.

Pure Python + numpy (+ matplotlib/OpenCV for the figures); no TensorFlow, no pandas.

Example:
    >>> from asnet_keras import reporting
    >>> ours = reporting.EvalResults("results/eval")
    >>> reporting.compare("table4", ours)        # displays as a Markdown table in Jupyter
    >>> print(reporting.compare("table4", ours).text())
"""

import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

PAPER_FILE = Path(__file__).with_name("paper_results.json")
RESULTS_FILE = "results.json"
TASKS = ("fixation", "salient_object")
PR_OUTPUT = "saliency_conv1"  # the final saliency map (Q1), Table 4's ASNet row
PRED_DIR_OUTPUT = "maps"  # output name that pred-dir evaluation (other methods' maps) uses

# The commands that produce missing results (placeholders in capitals).
EVAL_COMMAND = (
    "make eval WEIGHTS=RUN_DIR DATA=DATA RESULTS={out} ARGS=\"--datasets {datasets}{flags}\"\n"
    "# or: python -m asnet_keras.evaluate --weights RUN_DIR --data DATA "
    "--datasets {datasets} --out {out}{flags}"
)
ABLATION_COMMAND = "make ablation DATA=DATA OUT={out}"
ABLATION_SUBSET_COMMAND = (
    "python -m asnet_keras.ablation --data DATA --out {out} --variants {variants}"
)
FIXATION_28_HINT = (
    "the model was trained without the 28×28 fixation output; train with "
    "`--fixation-28` (python -m asnet_keras.train ... --fixation-28) and evaluate again"
)


# ---------------------------------------------------------------------------------------
# The paper's tables


@dataclass(frozen=True)
class Column:
    """One numeric column of a paper table: a metric on a dataset."""

    dataset: str  # our prepared-dataset name, e.g. "ecssd"
    dataset_label: str  # as the paper prints it, e.g. "ECCSD"
    metric: str  # as the paper prints it, e.g. "F-score"
    key: str  # the metric's key in results.json, e.g. "maxF"
    task: str  # "fixation" or "salient_object"
    higher_is_better: bool

    @property
    def header(self):
        return f"{self.dataset_label} {self.metric} {'↑' if self.higher_is_better else '↓'}"


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper table: the printed cells and their values (None for '-')."""

    method: str
    printed: tuple
    values: tuple
    marks: tuple
    aspect: str = ""
    ours: dict | None = None  # where our counterpart comes from: {"output", ["variant"]}


@dataclass(frozen=True)
class PaperTable:
    id: str
    title: str
    caption: str
    task: str
    columns: tuple
    rows: tuple
    footnotes: tuple

    def row(self, method):
        for row in self.rows:
            if row.method == method:
                return row
        raise KeyError(f"{self.title} has no row {method!r}; rows: {[r.method for r in self.rows]}")

    @property
    def datasets(self):
        """The datasets of the columns, in column order, each once."""
        return tuple(dict.fromkeys(c.dataset for c in self.columns))


def parse_cell(text):
    """``(value, mark)`` of a printed cell: '0.860*' → (0.86, '*'), '-' → (None, '')."""
    s = str(text).strip()
    if s in ("-", "–", "—", ""):
        return None, ""
    mark = ""
    while s and not (s[-1].isdigit() or s[-1] == "."):
        mark = s[-1] + mark
        s = s[:-1]
    try:
        return float(s), mark
    except ValueError:
        raise ValueError(f"paper cell {text!r} is neither a number nor '-'") from None


@functools.lru_cache(maxsize=1)
def load_paper():
    """The raw content of ``paper_results.json`` (a dict; do not modify it)."""
    with open(PAPER_FILE, encoding="utf-8") as f:
        return json.load(f)


def paper_table(table_id):
    """The paper's table ``table_id`` ("table2" … "table5") as a :class:`PaperTable`."""
    paper = load_paper()
    try:
        raw = paper["tables"][table_id]
    except KeyError:
        raise ValueError(
            f"no paper table {table_id!r}; pass one of {', '.join(paper['tables'])}"
        ) from None
    columns = []
    for col in raw["columns"]:
        metric = paper["metrics"][col["metric"]]
        columns.append(Column(
            dataset=col["dataset"], dataset_label=paper["datasets"][col["dataset"]]["label"],
            metric=col["metric"], key=metric["key"], task=metric["task"],
            higher_is_better=metric["higher_is_better"],
        ))
    rows = []
    for row in raw["rows"]:
        if len(row["values"]) != len(columns):
            raise ValueError(f"{table_id} row {row['method']!r}: {len(row['values'])} values "
                             f"for {len(columns)} columns in {PAPER_FILE}")
        parsed = [parse_cell(v) for v in row["values"]]
        rows.append(PaperRow(
            method=row["method"], printed=tuple(row["values"]),
            values=tuple(v for v, _ in parsed), marks=tuple(m for _, m in parsed),
            aspect=row.get("aspect", ""), ours=row.get("ours"),
        ))
    return PaperTable(table_id, raw["title"], raw["caption"], raw["task"], tuple(columns),
                      tuple(rows), tuple(raw.get("footnotes", ())))


def paper_notes():
    """The notes of ``paper_results.json`` (conventions, ambiguities), as a list of str."""
    return list(load_paper()["notes"])


# ---------------------------------------------------------------------------------------
# Our results


def parse_dataset_map(spec):
    """``{paper dataset: our dataset folder}`` from a spec like ``"ecssd=my-ecssd,*=x"``.

    ``*`` stands for every dataset not named. An empty spec (or None) maps every dataset
    to itself. A dict is returned as a copy.
    """
    if isinstance(spec, dict):
        return dict(spec)
    mapping = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"dataset map entry {part!r}: write PAPER_DATASET=OUR_DATASET "
                             "(e.g. ecssd=ecssd-test, or *=synthetic-both for all)")
        paper, ours = (s.strip() for s in part.split("=", 1))
        mapping[paper] = ours
    return mapping


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class EvalResults:
    """The results folder of one evaluated model: ``<folder>/<dataset>/results.json``.

    Args:
        folder: what evaluation's ``--out`` was.
        datasets: optional map paper dataset → our dataset folder name (a dict or a
            :func:`parse_dataset_map` spec), for results of datasets named differently.
    """

    def __init__(self, folder, datasets=None, label="ASNet (ours)"):
        self.folder = Path(os.path.expanduser(os.fspath(folder)))
        self.mapping = parse_dataset_map(datasets)
        self.label = label
        self._cache = {}
        self.errors = {}

    def __repr__(self):
        return f"EvalResults({str(self.folder)!r})"

    @property
    def exists(self):
        return self.folder.is_dir()

    def our_dataset(self, dataset):
        return self.mapping.get(dataset, self.mapping.get("*", dataset))

    def path(self, dataset):
        return self.folder / self.our_dataset(dataset) / RESULTS_FILE

    def get(self, dataset):
        """The parsed results.json of ``dataset`` (paper name), or None if absent/unreadable."""
        if dataset not in self._cache:
            path = self.path(dataset)
            data = None
            if path.is_file():
                try:
                    with open(path, encoding="utf-8") as f:
                        data = json.load(f)
                except (OSError, ValueError) as err:
                    self.errors[dataset] = f"{path}: {err}"
            self._cache[dataset] = data
        return self._cache[dataset]

    def entry(self, dataset, task, output):
        """The metric dict of one output, e.g. ``entry("ecssd", "salient_object",
        "saliency_conv1")``; for pred-dir results (output "maps") any output name matches."""
        data = self.get(dataset)
        if not data:
            return None
        outputs = data.get(task) or {}
        if output in outputs:
            return outputs[output]
        if task == "salient_object" and output == PR_OUTPUT and PRED_DIR_OUTPUT in outputs:
            return outputs[PRED_DIR_OUTPUT]
        return None

    def value(self, dataset, task, output, key):
        entry = self.entry(dataset, task, output)
        if entry is None:
            return None
        value = entry.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def missing(self, datasets):
        """The datasets (paper names) of ``datasets`` without a readable results.json."""
        return [d for d in datasets if self.get(d) is None]

    def outputs(self, dataset, task):
        data = self.get(dataset) or {}
        return list((data.get(task) or {}).keys())


class AblationResults:
    """The ablation runner's folder: ``<folder>/<variant>/eval/<dataset>/results.json``."""

    def __init__(self, folder, datasets=None):
        self.folder = Path(os.path.expanduser(os.fspath(folder)))
        self.mapping = parse_dataset_map(datasets)
        self._variants = {}

    def __repr__(self):
        return f"AblationResults({str(self.folder)!r})"

    @property
    def exists(self):
        return self.folder.is_dir()

    def variant(self, name):
        if name not in self._variants:
            self._variants[name] = EvalResults(self.folder / name / "eval", self.mapping,
                                               label=f"{name} (ours)")
        return self._variants[name]

    def missing(self, variants, datasets):
        """The variants of ``variants`` lacking results for any of ``datasets``."""
        return [v for v in variants if self.variant(v).missing(datasets)]


# ---------------------------------------------------------------------------------------
# Display objects


def _md_escape(text):
    return str(text).replace("|", "\\|")


def _text_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(  # noqa: E731
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def _md_table(header, rows):
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


class Message:
    """A note for the reader (e.g. which command produces missing results).

    Shown as Markdown in Jupyter and as plain text elsewhere; never raises.
    """

    def __init__(self, title, lines=(), commands=(), level="info"):
        self.title = title
        self.lines = list(lines)
        self.commands = list(commands)
        self.level = level

    def text(self):
        out = [self.title, *("  " + line for line in self.lines)]
        if self.commands:
            out.append("Produce them with:")
            out += ["    " + line for c in self.commands for line in c.splitlines()]
        return "\n".join(out)

    def markdown(self):
        icon = {"missing": "⚠️ ", "ok": "✅ "}.get(self.level, "")
        out = [f"**{icon}{self.title}**", ""]
        out += [f"- {line}" for line in self.lines]
        if self.commands:
            out += ["", "Produce them with:", "", "```bash", *self.commands, "```"]
        return "\n".join(out)

    def _repr_markdown_(self):
        return self.markdown()

    def __repr__(self):
        return self.text()

    __str__ = __repr__


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
                 _text_table(self.header, [[r.label, *r.cells] for r in self.rows])]
        parts += list(self.table.footnotes)
        parts += self.notes
        parts += [m.text() for m in self.messages]
        return "\n".join(parts)

    def markdown(self):
        parts = [f"**{self.table.title}.** {self.table.caption}", "",
                 _md_table(self.header, [[r.label, *r.cells] for r in self.rows]), ""]
        parts += [f"<small>{_md_escape(f)}</small><br>" for f in self.table.footnotes]
        parts += [""] + [f"- {n}" for n in self.notes]
        parts += ["", *(m.markdown() for m in self.messages)]
        return "\n".join(parts)

    def _repr_markdown_(self):
        return self.markdown()

    def __repr__(self):
        return self.text()

    __str__ = __repr__


def show(*objs):
    """Display each object (Markdown in Jupyter, text otherwise)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the notebook tools
        get_ipython = None
    for obj in objs:
        if get_ipython is not None and get_ipython() is not None:
            display(obj)
        else:
            print(obj)


# ---------------------------------------------------------------------------------------
# Tables


def _fmt(value, decimals=3):
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "nan"
    return f"{value:.{decimals}f}"


def _fmt_diff(value, decimals=3):
    if value is None:
        return ""
    if not math.isfinite(value):
        return "nan"
    return f"{value:+.{decimals}f}".replace("-", "−")


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
        rows.append(TableRow("ours", tag, [_fmt(v, decimals) for v in ours], ours))
        for key in extra_keys:
            cols = [c for c in table.columns if c.key == "maxF"]
            if not cols:
                continue
            extra = [src.value(c.dataset, c.task, output, key)
                     if (src and c.key == "maxF") else None for c in table.columns]
            rows.append(TableRow("ours", f"{prow.method} (ours, {key})",
                                 [_fmt(v, decimals) if c.key == "maxF" else ""
                                  for v, c in zip(extra, table.columns)], extra))
        diffs = [o - p if (o is not None and p is not None) else None
                 for o, p in zip(ours, prow.values)]
        if any(d is not None for d in diffs):
            cells = [_fmt_diff(d, decimals) for d in diffs]
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
        why = FIXATION_28_HINT if output == "fixation_conv4" else (
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
    return _Raw(_md_table(header, rows), _text_table(header, rows))


class _Raw:
    def __init__(self, md, text):
        self._md, self._text = md, text

    def _repr_markdown_(self):
        return self._md

    def __repr__(self):
        return self._text


# ---------------------------------------------------------------------------------------
# Figures


def pr_curves(sources, datasets=None, output=PR_OUTPUT):
    """Curves for :func:`asnet_keras.plots.plot_pr_curves_by_dataset`.

    Args:
        sources: {legend label: EvalResults}; the first is usually ours.
        datasets: paper dataset names (default Figure 5's: ECSSD, HKU-IS, PASCAL-S).

    Returns:
        ``({panel title: {label: result dict}}, [missing descriptions])``; datasets with no
        curve at all are left out.
    """
    paper = load_paper()
    datasets = datasets or paper["figures"]["fig5"]["datasets"]
    per_dataset, missing = {}, []
    for dataset in datasets:
        curves = {}
        for label, src in sources.items():
            entry = src.entry(dataset, "salient_object", output)
            if entry is not None and "curves" in entry:
                curves[label] = entry
            else:
                missing.append(f"{label}: no PR curve for {dataset} ({src.path(dataset)})")
        if curves:
            title = paper["datasets"].get(dataset, {}).get("label", dataset)
            ours = next(iter(sources.values())).our_dataset(dataset)
            if ours != dataset:
                title += f" (our {ours})"
            per_dataset[title] = curves
    return per_dataset, missing


def read_image(path, grey=False):
    """An image file as a uint8 array (RGB, or grey with ``grey=True``); None if absent."""
    import cv2

    if path is None or not os.path.isfile(path):
        return None
    img = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
    if img is None:
        return None
    return img if grey else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def qualitative_examples(source, dataset, data_root=None, n=6, ids=None,
                         fixation_output="fixation", saliency_output=PR_OUTPUT):
    """Examples for Figure 6 from maps saved by evaluation (``--save-maps``).

    Args:
        source: :class:`EvalResults` whose ``<dataset>/maps/<output>/<id>.png`` exist.
        dataset: paper dataset name (mapped as ``source`` maps it).
        data_root: the prepared data root (images and GT masks); None leaves them blank.
        n: number of examples (the first ``n`` ids with a saved saliency map, sorted).
        ids: explicit ids instead.

    Returns:
        a list of dicts with keys id, image, fixation, saliency, gt (arrays or None).
    """
    ours = source.our_dataset(dataset)
    maps = source.folder / ours / "maps"
    sal_dir = maps / saliency_output
    if ids is None:
        if not sal_dir.is_dir() and (maps / PRED_DIR_OUTPUT).is_dir():
            sal_dir = maps / PRED_DIR_OUTPUT
        ids = sorted(p.stem for p in sal_dir.glob("*.png"))[:n] if sal_dir.is_dir() else []
    data = source.get(dataset) or {}
    split = data.get("split", "test")
    base = Path(data_root) / ours / split if data_root else None
    out = []
    for sample_id in ids:
        out.append({
            "id": sample_id,
            "image": read_image(base / "images" / f"{sample_id}.jpg") if base else None,
            "fixation": read_image(maps / fixation_output / f"{sample_id}.png", grey=True),
            "saliency": read_image(sal_dir / f"{sample_id}.png", grey=True),
            "gt": read_image(base / "masks" / f"{sample_id}.png", grey=True) if base else None,
        })
    return out


FIG6_ROWS = (("image", "Image"), ("fixation", "Fixation map"),
             ("saliency", "Saliency map"), ("gt", "Ground truth"))


def qualitative_figure(examples, with_gt=True, cell=(1.8, 1.5), dpi=100):
    """Figure 6 as the paper lays it out: one column per example, rows from top to bottom
    image, fixation map, saliency map (and, if ``with_gt``, the ground-truth mask).

    Returns a ``matplotlib.figure.Figure`` (Agg canvas; pyplot is not touched).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not examples:
        raise ValueError("no examples to draw: evaluate with --save-maps first")
    kinds = FIG6_ROWS if with_gt else FIG6_ROWS[:3]
    fig = Figure(figsize=(cell[0] * len(examples), cell[1] * len(kinds)), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(kinds), len(examples), squeeze=False)
    for c, example in enumerate(examples):
        for r, (key, title) in enumerate(kinds):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            a = example.get(key)
            if a is None:
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
            elif np.ndim(a) == 3:
                ax.imshow(a)
            else:
                ax.imshow(a, cmap="gray" if key != "fixation" else "jet", vmin=0, vmax=255)
            if c == 0:
                ax.set_ylabel(title, fontsize="small")
            if r == 0:
                ax.set_title(str(example.get("id", "")), fontsize="x-small")
    fig.subplots_adjust(left=0.06, right=0.99, top=0.94, bottom=0.01, wspace=0.04, hspace=0.04)
    return fig


def show_figure(fig, path=None):
    """Display a matplotlib ``Figure`` inline (as PNG) and, with ``path``, save it there."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(buf.getvalue())
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:  # pragma: no cover
        return fig
    if get_ipython() is not None:
        display(Image(data=buf.getvalue(), format="png"))
    elif path is not None:
        print(f"figure written to {path}")
    return fig


# ---------------------------------------------------------------------------------------
# Overviews


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
    cells = [[d, o, str(n), *(_fmt(s.get(k), decimals) for k in keys)] for d, o, n, s in rows]
    return _Raw(_md_table(header, cells), _text_table(header, cells))


def ablation_overview(source, datasets=None):
    """One line per Table 5 variant: trained?, evaluated on which datasets."""
    from asnet_keras.variants import VARIANTS

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
    return _Raw(_md_table(header, rows), _text_table(header, rows))
