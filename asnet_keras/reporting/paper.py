"""The paper's Tables 2–5, typed once into `asnet_keras/paper_results.json`.

`paper_table(table_id)` gives a `PaperTable`: its columns, rows (method → values) and
footnotes; `parse_cell` reads one typed cell. Pure Python.
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path

PAPER_FILE = Path(__file__).resolve().parent.parent / "paper_results.json"


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
