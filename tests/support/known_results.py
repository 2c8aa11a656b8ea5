"""Known results for the table tests (`tests/reporting/test_tables.py`, the notebooks'
rendering in `tests/reporting/test_notebooks.py`): a distinct hand-chosen value for each
dataset × output × metric, and the rows of Tables 2–4 they must give, worked out by hand."""

from pathlib import Path

from asnet_keras import reporting
from tests.support.results_fixtures import write_known_results

MINUS = "−"  # the tables' typographic minus

# The fixation metrics in the column order of Tables 2 and 3.
FIXATION_ORDER = ("auc_judd", "sim", "sauc", "cc", "nss")


def _fixation(*values):
    assert len(values) == len(FIXATION_ORDER)
    return dict(zip(FIXATION_ORDER, values, strict=True))


# The salient-object keys evaluation writes; maxF and MAE are Table 4's columns, maxF_PR its
# extra row, the others only in our_metrics — each distinct, so reading a wrong key shows.
SOD_ORDER = ("maxF", "MAE", "maxF_PR", "meanF", "adpF", "S", "maxE", "meanE", "adpE", "wF")


def _sod(*values):
    assert len(values) == len(SOD_ORDER)
    return dict(zip(SOD_ORDER, values, strict=True))


KNOWN = {
    "mit1003": {"fixation": {
        "fixation": _fixation(0.861, 0.473, 0.722, 0.584, 1.957),
        "fixation_conv4": _fixation(0.874, 0.508, 0.741, 0.636, 2.213),
    }},
    "pascal-s": {
        "fixation": {
            "fixation": _fixation(0.893, 0.537, 0.716, 0.689, 2.184),
            "fixation_conv4": _fixation(0.905, 0.571, 0.752, 0.742, 2.468),
        },
        "salient_object": {"saliency_conv1": _sod(
            0.849, 0.078, 0.855, 0.812, 0.806, 0.837, 0.886, 0.869, 0.874, 0.781)},
    },
    "ecssd": {"salient_object": {"saliency_conv1": _sod(
        0.917, 0.048, 0.921, 0.884, 0.879, 0.902, 0.941, 0.925, 0.933, 0.861)}},
    "hku-is": {"salient_object": {"saliency_conv1": _sod(
        0.906, 0.039, 0.913, 0.871, 0.866, 0.895, 0.937, 0.918, 0.927, 0.852)}},
}

# The rows under each ASNet row, worked out by hand from KNOWN and the paper's numbers
# (Table 2 ASNet-14×14: 0.87 0.49 0.73 0.60 2.01, ASNet-28×28: 0.88 0.52 0.75 0.65 2.30;
# Table 3: 0.90 0.55 0.74 0.70 2.26 and 0.90 0.59 0.74 0.73 2.43; Table 4 ASNet: 0.928
# 0.043 0.920 0.035 0.857 0.072). Label → printed cells.
EXPECTED = {
    "table2": {
        "ASNet-14×14": ["0.87", "0.49", "0.73", "0.60", "2.01"],
        "ASNet-14×14 (ours)": ["0.861", "0.473", "0.722", "0.584", "1.957"],
        "Δ 14×14": ["−0.009", "−0.017", "−0.008", "−0.016", "−0.053"],
        "ASNet-28×28": ["0.88", "0.52", "0.75", "0.65", "2.30"],
        "ASNet-28×28 (ours)": ["0.874", "0.508", "0.741", "0.636", "2.213"],
        "Δ 28×28": ["−0.006", "−0.012", "−0.009", "−0.014", "−0.087"],
    },
    "table3": {
        "ASNet-14×14": ["0.90", "0.55", "0.74", "0.70", "2.26"],
        "ASNet-14×14 (ours)": ["0.893", "0.537", "0.716", "0.689", "2.184"],
        "Δ 14×14": ["−0.007", "−0.013", "−0.024", "−0.011", "−0.076"],
        "ASNet-28×28": ["0.90", "0.59", "0.74", "0.73", "2.43"],
        "ASNet-28×28 (ours)": ["0.905", "0.571", "0.752", "0.742", "2.468"],
        "Δ 28×28": ["+0.005", "−0.019", "+0.012", "+0.012", "+0.038"],
    },
    "table4": {
        "ASNet": ["0.928", "0.043", "0.920", "0.035", "0.857", "0.072"],
        "ASNet (ours)": ["0.917", "0.048", "0.906", "0.039", "0.849", "0.078"],
        "ASNet (ours, maxF_PR)": ["0.921", "", "0.913", "", "0.855", ""],
        "Δ": ["−0.011", "+0.005", "−0.014", "+0.004", "−0.008", "+0.006"],
    },
}
assert [len(rows) for rows in EXPECTED.values()] == [6, 6, 4]


def ablation_values():
    """Ours for every Table 5 row, cell by cell: F-score = paper − k/1000 and MAE = paper +
    k/1000, k = 1, 2, … running over the rows and columns, so each cell's difference is its
    own k. The keys Table 5 does not show get values far from both."""
    table = reporting.paper_table("table5")
    width = len(table.columns)
    values, expected = {}, {}
    for r, row in enumerate(table.rows):
        variant, output = row.ours["variant"], row.ours["output"]
        cells = []
        for c, (column, paper) in enumerate(zip(table.columns, row.values, strict=True)):
            k = r * width + c + 1
            sign = -1 if column.key == "maxF" else 1
            value = round(paper + sign * k / 1000, 3)
            entry = values.setdefault(variant, {}).setdefault(column.dataset, {}).setdefault(
                "salient_object", {}).setdefault(output, {})
            entry[column.key] = value
            entry.update((key, 0.5 + k / 1000) for key in SOD_ORDER if key not in entry)
            cells.append((value, f"{'−' if sign < 0 else '+'}{k / 1000:.3f}"))
        expected[row.method] = cells
    return values, expected


def write_known_ablation(folder):
    """An ablation folder (`<variant>/run`, `<variant>/eval/<dataset>/results.json`)
    holding `ablation_values()`; returns (folder, the expected cells per Table 5 row)."""
    values, expected = ablation_values()
    for variant, datasets in values.items():
        (Path(folder) / variant / "run").mkdir(parents=True)
        write_known_results(Path(folder) / variant / "eval", datasets)
    return folder, expected
