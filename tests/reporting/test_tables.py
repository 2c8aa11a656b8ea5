"""Every cell of Tables 2–5 from known results: results.json files laid out as evaluation
writes them, with a distinct hand-chosen value for each dataset × output × metric, so a
value read from the wrong dataset, output or metric shows in the cell it lands in. Ours,
the paper's and the difference (ours − paper) are checked cell by cell, in the rows of
`compare`, in its text and Markdown renderings, and in the overviews (`our_metrics`,
`nan_summary`, `ablation_overview`). The notebooks' rendering of the same results is
checked in `tests/reporting/test_notebooks.py`."""

import json
import re

import pytest

from asnet_keras import reporting
from asnet_keras.model.variants import VARIANTS
from tests.support.known_results import (
    EXPECTED,
    FIXATION_ORDER,
    KNOWN,
    MINUS,
    SOD_ORDER,
    ablation_values,
    write_known_ablation,
)
from tests.support.results_fixtures import write_known_results

DIFF_LABEL = "Δ ours − paper"
assert len(EXPECTED) == 3


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    return reporting.EvalResults(write_known_results(tmp_path_factory.mktemp("eval"), KNOWN))


def _tail(table, first_label):
    """The rows from the paper row `first_label` to the end: [(label, cells)]."""
    labels = [r.label for r in table.rows]
    start = labels.index(first_label)
    return [(r.label, r.cells) for r in table.rows[start:]]


def _number(cell):
    return float(cell.replace(MINUS, "-"))


@pytest.mark.parametrize("table_id", ["table2", "table3"])
def test_fixation_tables_show_each_output_and_metric_in_its_cell(ours, table_id):
    table = reporting.compare(table_id, ours)
    rows = EXPECTED[table_id]
    assert _tail(table, "ASNet-14×14") == [
        ("ASNet-14×14", rows["ASNet-14×14"]),
        ("ASNet-14×14 (ours)", rows["ASNet-14×14 (ours)"]),
        (DIFF_LABEL, rows["Δ 14×14"]),
        ("ASNet-28×28", rows["ASNet-28×28"]),
        ("ASNet-28×28 (ours)", rows["ASNet-28×28 (ours)"]),
        (DIFF_LABEL, rows["Δ 28×28"]),
    ]
    values = table.ours()
    assert values["ASNet-14×14 (ours)"] == [_number(c) for c in rows["ASNet-14×14 (ours)"]]
    assert values["ASNet-28×28 (ours)"] == [_number(c) for c in rows["ASNet-28×28 (ours)"]]
    diffs = [r.values for r in table.rows if r.kind == "diff"]
    expected_diffs = [rows["Δ 14×14"], rows["Δ 28×28"]]
    assert len(diffs) == len(expected_diffs)
    for got, cells in zip(diffs, expected_diffs, strict=True):
        assert got == pytest.approx([_number(c) for c in cells], abs=1e-12)
    assert not table.messages


def test_table4_shows_each_dataset_and_metric_in_its_cell(ours):
    table = reporting.compare("table4", ours)
    rows = EXPECTED["table4"]
    assert _tail(table, "ASNet") == [
        ("ASNet", rows["ASNet"]), ("ASNet (ours)", rows["ASNet (ours)"]),
        ("ASNet (ours, maxF_PR)", rows["ASNet (ours, maxF_PR)"]), (DIFF_LABEL, rows["Δ"]),
    ]
    assert table.ours()["ASNet (ours)"] == [_number(c) for c in rows["ASNet (ours)"]]
    assert table.ours()["ASNet (ours, maxF_PR)"] == [0.921, None, 0.913, None, 0.855, None]
    (diff,) = [r for r in table.rows if r.kind == "diff"]
    assert diff.values == pytest.approx([_number(c) for c in rows["Δ"]], abs=1e-12)
    assert table.header == ["Method", "ECCSD F-score ↑", "ECCSD MAE ↓", "HKU-IS F-score ↑",
                            "HKU-IS MAE ↓", "PASCAL-S F-score ↑", "PASCAL-S MAE ↓"]


@pytest.mark.parametrize("table_id", list(EXPECTED))
def test_every_paper_row_is_printed_as_the_paper_prints_it(ours, table_id):
    table = reporting.compare(table_id, ours)
    paper = [(r.label, r.cells) for r in table.rows if r.kind == "paper"]
    assert paper == [(r.method, list(r.printed)) for r in reporting.paper_table(table_id).rows]


def test_renderings_hold_the_same_cells(ours):
    """The Markdown and text forms of Table 4 carry each row's cells in column order."""
    table = reporting.compare("table4", ours)
    markdown = table.markdown().splitlines()
    text = table.text().splitlines()
    for label, cells in (("ASNet (ours)", EXPECTED["table4"]["ASNet (ours)"]),
                         (DIFF_LABEL, EXPECTED["table4"]["Δ"])):
        assert f"| {label} | {' | '.join(cells)} |" in markdown
        (line,) = [line for line in text if line.startswith(label + " ")]
        assert line.split()[-6:] == cells
    (maxf_pr,) = [line for line in markdown if line.startswith("| ASNet (ours, maxF_PR) |")]
    assert maxf_pr == "| ASNet (ours, maxF_PR) | 0.921 |  | 0.913 |  | 0.855 |  |"


# ------------------------------------------------------------------ Table 5


def test_table5_reads_each_variant_output_dataset_and_metric_into_its_cell(tmp_path):
    _, expected = write_known_ablation(tmp_path)
    assert len(expected) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(VARIANTS)
    table = reporting.compare("table5", reporting.AblationResults(tmp_path))
    rows = table.rows
    paper_rows = [i for i, r in enumerate(rows) if r.kind == "paper"]
    assert len(paper_rows) == 12
    for i, prow in zip(paper_rows, reporting.paper_table("table5").rows, strict=True):
        ours, diff = rows[i + 1], rows[i + 2]
        variant, output = prow.ours["variant"], prow.ours["output"]
        suffix = "" if output == "saliency_conv1" else f", {output}"
        assert ours.kind == "ours" and ours.label == f"{prow.method} (ours: {variant}{suffix})"
        assert ours.values == [value for value, _ in expected[prow.method]]
        assert ours.cells == [f"{value:.3f}" for value, _ in expected[prow.method]]
        assert diff.kind == "diff" and diff.cells == [cell for _, cell in expected[prow.method]]
    assert len(rows) == 3 * 12  # paper, ours and difference for every row, nothing else


def test_table5_cells_by_hand():
    """Two rows of `_ablation_values` worked out by hand, so the rule itself is checked."""
    _, expected = ablation_values()
    # row 0 (ASNet conv1-output, paper 0.928 0.043 0.920 0.035 0.857 0.072), k = 1…6
    assert expected["ASNet (conv1-output)"] == [
        (0.927, "−0.001"), (0.045, "+0.002"), (0.917, "−0.003"), (0.039, "+0.004"),
        (0.852, "−0.005"), (0.078, "+0.006")]
    # row 3 (conv5-output, paper 0.853 0.093 0.830 0.079 0.739 0.117), k = 19…24
    assert expected["conv5-output"] == [
        (0.834, "−0.019"), (0.113, "+0.020"), (0.809, "−0.021"), (0.101, "+0.022"),
        (0.716, "−0.023"), (0.141, "+0.024")]


# ------------------------------------------------------------------ overviews

def test_our_metrics_lists_every_metric_of_every_output(ours):
    table = reporting.our_metrics(ours, ["mit1003", "pascal-s"], "fixation")
    lines = repr(table).splitlines()
    assert lines[0].split() == ["Dataset", "Output", "Images", *FIXATION_ORDER]
    assert [line.split() for line in lines[2:]] == [
        ["mit1003", "fixation", "4", "0.861", "0.473", "0.722", "0.584", "1.957"],
        ["mit1003", "fixation_conv4", "4", "0.874", "0.508", "0.741", "0.636", "2.213"],
        ["pascal-s", "fixation", "4", "0.893", "0.537", "0.716", "0.689", "2.184"],
        ["pascal-s", "fixation_conv4", "4", "0.905", "0.571", "0.752", "0.742", "2.468"],
    ]
    sod = reporting.our_metrics(ours, ["ecssd", "hku-is"], "salient_object")._repr_markdown_()
    assert sod.splitlines()[0] == "| Dataset | Output | Images | " + " | ".join(SOD_ORDER) + " |"
    assert sod.splitlines()[2:] == [
        "| ecssd | saliency_conv1 | 4 | 0.917 | 0.048 | 0.921 | 0.884 | 0.879 | 0.902 | 0.941 "
        "| 0.925 | 0.933 | 0.861 |",
        "| hku-is | saliency_conv1 | 4 | 0.906 | 0.039 | 0.913 | 0.871 | 0.866 | 0.895 | 0.937 "
        "| 0.918 | 0.927 | 0.852 |",
    ]


def test_nan_summary_names_each_metric_with_its_count(tmp_path):
    values = {"ecssd": KNOWN["ecssd"], "mit1003": KNOWN["mit1003"]}
    nans = {("ecssd", "saliency_conv1"): {"S": 2, "wF": 1},
            ("mit1003", "fixation_conv4"): {"sauc": 3}}
    source = reporting.EvalResults(write_known_results(tmp_path, values, n=7, nan_count=nans))
    sod = repr(reporting.nan_summary(source, ["ecssd"], "salient_object")).splitlines()
    assert [re.split(r"\s{2,}", line) for line in sod[2:]] == [
        ["ecssd", "saliency_conv1", "7", "S: 2, wF: 1"]]
    fixation = reporting.nan_summary(source, ["mit1003"], "fixation")._repr_markdown_()
    assert fixation.splitlines()[2:] == ["| mit1003 | fixation | 7 | none |",
                                         "| mit1003 | fixation_conv4 | 7 | sauc: 3 |"]


def test_ablation_overview_says_what_each_variant_has(tmp_path):
    (tmp_path / "full" / "run").mkdir(parents=True)
    (tmp_path / "full" / "run" / "finished.json").write_text("{}")
    write_known_results(tmp_path / "full" / "eval", {"ecssd": KNOWN["ecssd"],
                                                     "pascal-s": KNOWN["pascal-s"]})
    (tmp_path / "wo_mae" / "run").mkdir(parents=True)
    markdown = reporting.ablation_overview(reporting.AblationResults(tmp_path))._repr_markdown_()
    rows = [line.strip("|").split("|") for line in markdown.splitlines()[2:]]
    cells = {r[0].strip(): [c.strip() for c in r[1:4]] for r in rows}
    assert list(cells) == list(VARIANTS)
    assert cells["full"] == ["ASNet", "yes", "ecssd, pascal-s"]
    assert cells["wo_mae"] == ["w/o L_MAE", "started", "no"]
    assert cells["wo_extra"] == ["w/o extra loss", "no", "no"]


def test_decimals_reach_ours_the_extra_row_and_the_difference(ours):
    # Two places: 0.917 → 0.92, 0.048 → 0.05, …; maxF_PR 0.855 is stored as 0.85499…
    # → 0.85. Differences: 0.917 − 0.928 = −0.011 → −0.01; 0.048 − 0.043 = 0.0050000…4
    # (binary) → +0.01; −0.014 → −0.01; 0.004 → +0.00; −0.008 → −0.01; 0.006 → +0.01.
    table = reporting.compare("table4", ours, decimals=2)
    assert _tail(table, "ASNet (ours)") == [
        ("ASNet (ours)", ["0.92", "0.05", "0.91", "0.04", "0.85", "0.08"]),
        ("ASNet (ours, maxF_PR)", ["0.92", "", "0.91", "", "0.85", ""]),
        (DIFF_LABEL, ["−0.01", "+0.01", "−0.01", "+0.00", "−0.01", "+0.01"]),
    ]
    cells = repr(reporting.our_metrics(ours, ["hku-is"], "salient_object", decimals=1))
    assert cells.splitlines()[2].split() == [
        "hku-is", "saliency_conv1", "4", "0.9", "0.0", "0.9", "0.9", "0.9", "0.9", "0.9",
        "0.9", "0.9", "0.9"]


def test_extra_rows_only_for_tables_with_an_f_score_column(ours):
    table = reporting.compare("table2", ours, extra_keys=("maxF_PR",))
    assert [r.label for r in table.rows[-6:]] == [
        "ASNet-14×14", "ASNet-14×14 (ours)", DIFF_LABEL,
        "ASNet-28×28", "ASNet-28×28 (ours)", DIFF_LABEL]


def test_paper_rows_carry_the_papers_values(ours):
    asnet = (0.928, 0.043, 0.920, 0.035, 0.857, 0.072)  # Table 4, ASNet
    for table in (reporting.compare("table4", ours), reporting.paper_only("table4")):
        (row,) = [r for r in table.rows if r.kind == "paper" and r.label == "ASNet"]
        assert row.values == list(asnet) and row.cells == [f"{v:.3f}" for v in asnet]
    su = [r for r in reporting.paper_only("table4").rows if r.label == "SU [26]"]
    assert su[0].values == [0.88, 0.06, None, None, 0.77, 0.10]


def _set_counts(folder, dataset, entry, whole):
    """Set `n_images` of every entry and of the dataset in a results.json; None takes the
    key out (older or hand-made files may lack it)."""
    path = folder / dataset / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for target, value in [(e, entry) for s in ("fixation", "salient_object")
                          for e in data[s].values()] + [(data, whole)]:
        target.pop("n_images")
        if value is not None:
            target["n_images"] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def test_overviews_filter_outputs_and_count_images_from_the_entry_then_the_dataset(tmp_path):
    write_known_results(tmp_path, {"mit1003": KNOWN["mit1003"], "pascal-s": KNOWN["pascal-s"],
                                   "ecssd": KNOWN["ecssd"]})
    _set_counts(tmp_path, "mit1003", entry=6, whole=9)  # the entry's count is shown
    _set_counts(tmp_path, "pascal-s", entry=None, whole=7)  # else the dataset's
    _set_counts(tmp_path, "ecssd", entry=None, whole=None)  # else "?"
    source = reporting.EvalResults(tmp_path)
    # a dataset without results (hku-is) does not end the list
    fixation = reporting.nan_summary(source, ["hku-is", "mit1003", "pascal-s"], "fixation",
                                     outputs=["fixation_conv4"])
    assert fixation._repr_markdown_().splitlines() == [
        "| Dataset | Output | Images | NaN images per metric |", "|:---|---:|---:|---:|",
        "| mit1003 | fixation_conv4 | 6 | none |", "| pascal-s | fixation_conv4 | 7 | none |"]
    assert repr(fixation).splitlines()[0].split() == [
        "Dataset", "Output", "Images", "NaN", "images", "per", "metric"]
    sod = reporting.nan_summary(source, ["ecssd"], "salient_object")._repr_markdown_()
    assert sod.splitlines()[2] == "| ecssd | saliency_conv1 | ? | none |"
    metrics = reporting.our_metrics(source, ["hku-is", "mit1003", "pascal-s", "ecssd"],
                                    "fixation", outputs=["fixation_conv4"])
    assert [line.split()[:3] for line in repr(metrics).splitlines()[2:]] == [
        ["mit1003", "fixation_conv4", "6"], ["pascal-s", "fixation_conv4", "7"]]
    metrics = reporting.our_metrics(source, ["ecssd"], "salient_object")
    assert repr(metrics).splitlines()[2].split()[:3] == ["ecssd", "saliency_conv1", "?"]


def test_ablation_overview_header_folders_and_text(tmp_path):
    (tmp_path / "full" / "run").mkdir(parents=True)
    overview = reporting.ablation_overview(reporting.AblationResults(tmp_path), ["ecssd"])
    markdown = overview._repr_markdown_().splitlines()
    assert markdown[0] == "| Variant | Table 5 row | Trained | Evaluated | Folder |"
    assert markdown[2] == f"| full | ASNet | started | no | {tmp_path / 'full'} |"
    text = repr(overview).splitlines()
    assert text[0].split() == ["Variant", "Table", "5", "row", "Trained", "Evaluated", "Folder"]
    assert text[2].split() == ["full", "ASNet", "started", "no", str(tmp_path / "full")]


def test_table5_paper_rows_are_labelled_with_their_aspect(tmp_path):
    # paper_results.json gives each Table 5 row its aspect ("architecture variants",
    # "loss") as the paper groups them; the first row has none and is its method alone.
    expected = ["ASNet (conv1-output)"] + [
        f"architecture variants: {m}" for m in ("w/o fixation", "w/o convLSTM",
                                                 "conv5-output", "conv4-output",
                                                 "conv3-output", "conv2-output")] + [
        f"loss: {m}" for m in ("w/o L_P", "w/o L_R", "w/o L_F", "w/o L_MAE", "w/o extra loss")]
    for table in (reporting.paper_only("table5"),
                  reporting.compare("table5", reporting.AblationResults(tmp_path / "none"))):
        assert [r.label for r in table.rows if r.kind == "paper"] == expected
    assert "| architecture variants: w/o fixation | 0.913 |" in \
        reporting.paper_only("table5").markdown()
    # rows without an aspect in the file (Tables 2-4) have the empty one, as Table 5's first
    assert {r.aspect for t in ("table2", "table3", "table4")
            for r in reporting.paper_table(t).rows} == {""}
