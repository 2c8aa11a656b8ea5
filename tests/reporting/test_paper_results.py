"""The paper's Tables 2-5 as package data: structure, spot-checked numbers, parsing."""

import json
import math
import re

import pytest

from asnet_keras import reporting
from asnet_keras.model.variants import INTERMEDIATE_ROWS, VARIANTS


def test_every_table_has_its_rows_and_one_value_per_column():
    counts = {"table2": 12, "table3": 12, "table4": 18, "table5": 12}
    for table_id, n in counts.items():
        table = reporting.paper_table(table_id)
        assert len(table.rows) == n
        for row in table.rows:
            assert len(row.values) == len(table.columns)


def test_spot_checked_numbers_match_the_paper():
    t2 = reporting.paper_table("table2")
    assert t2.row("ASNet-28×28").values == (0.88, 0.52, 0.75, 0.65, 2.30)
    assert t2.row("Shallow-Net [43]").values == (None, None, 0.68, None, 1.60)
    t3 = reporting.paper_table("table3")
    assert t3.row("ASNet-14×14").values == (0.90, 0.55, 0.74, 0.70, 2.26)
    assert t3.row("BMS [62]").values == (None, None, 0.67, None, 1.28)
    t4 = reporting.paper_table("table4")
    assert t4.row("ASNet").values == (0.928, 0.043, 0.920, 0.035, 0.857, 0.072)
    assert t4.row("MDF [31]").printed[2:4] == ("0.860*", "0.129*")
    assert t4.row("MDF [31]").marks[2] == "*" and t4.row("MDF [31]").values[2] == 0.860
    assert t4.row("SU [26]").values == (0.88, 0.06, None, None, 0.77, 0.10)
    t5 = reporting.paper_table("table5")
    assert t5.row("conv5-output").values == (0.853, 0.093, 0.830, 0.079, 0.739, 0.117)
    assert t5.row("w/o extra loss").values == (0.917, 0.048, 0.912, 0.040, 0.847, 0.075)


def test_table5_first_row_equals_table4_asnet_row():
    assert (reporting.paper_table("table5").rows[0].values
            == reporting.paper_table("table4").row("ASNet").values)


def test_columns_map_to_our_result_keys():
    keys = {c.key for t in ("table2", "table3") for c in reporting.paper_table(t).columns}
    assert keys == {"auc_judd", "sim", "sauc", "cc", "nss"}
    keys = {c.key for t in ("table4", "table5") for c in reporting.paper_table(t).columns}
    assert keys == {"maxF", "MAE"}
    assert reporting.paper_table("table2").datasets == ("mit1003",)
    assert reporting.paper_table("table3").datasets == ("pascal-s",)
    assert reporting.paper_table("table4").datasets == ("ecssd", "hku-is", "pascal-s")


def test_table5_rows_name_every_variant_and_intermediate_output():
    rows = reporting.paper_table("table5").rows
    variants = {r.ours["variant"] for r in rows}
    assert variants == set(VARIANTS)
    outputs = {r.method: r.ours["output"] for r in rows if r.method in INTERMEDIATE_ROWS}
    assert outputs == INTERMEDIATE_ROWS
    labels = {r.method for r in rows}
    assert {v.label for k, v in VARIANTS.items() if k != "full"} <= labels


def test_all_values_are_finite_numbers_or_dashes():
    with open(reporting.PAPER_FILE, encoding="utf-8") as f:
        raw = json.load(f)
    assert raw["notes"], "the maxF ambiguity must be recorded"
    for table_id in raw["tables"]:
        for row in reporting.paper_table(table_id).rows:
            for v, printed in zip(row.values, row.printed, strict=True):
                assert (v is None) == (printed == "-")
                assert v is None or math.isfinite(v)


@pytest.mark.parametrize("text,expected", [
    ("0.860*", (0.86, "*")), ("-", (None, "")), ("2.30", (2.3, "")), ("0.10", (0.1, "")),
])
def test_parse_cell(text, expected):
    assert reporting.parse_cell(text) == expected


def test_parse_cell_rejects_text():
    with pytest.raises(ValueError, match="neither a number"):
        reporting.parse_cell("n/a")


def test_unknown_table_names_the_valid_ones():
    with pytest.raises(ValueError, match="table2"):
        reporting.paper_table("table9")


@pytest.mark.parametrize("text,expected", [
    ("–", (None, "")), ("—", (None, "")), ("", (None, "")), (" - ", (None, "")),
    ("2.", (2.0, "")), ("0.875*", (0.875, "*")), ("0.861†*", (0.861, "†*")),
])
def test_parse_cell_dashes_marks_and_trailing_points(text, expected):
    assert reporting.parse_cell(text) == expected


def test_tables_know_their_id_and_name_what_they_lack():
    table = reporting.paper_table("table4")
    assert table.id == "table4"
    with pytest.raises(KeyError, match=r"Table 4 has no row 'ASNet-2'; rows: \['HS \[60\]', "):
        table.row("ASNet-2")
    with pytest.raises(ValueError, match=r"^no paper table 'table9'; pass one of table2, table3, "
                                         r"table4, table5$"):
        reporting.paper_table("table9")
    assert reporting.paper_notes() == json.loads(
        reporting.PAPER_FILE.read_text(encoding="utf-8"))["notes"]


def _paper_with(table4_change):
    paper = json.loads(reporting.PAPER_FILE.read_text(encoding="utf-8"))
    table4_change(paper["tables"]["table4"])
    return paper


def test_a_malformed_paper_file_is_named_and_footnotes_are_optional(monkeypatch):
    from asnet_keras.reporting import paper as paper_module

    def short_row(table):
        table["rows"][0]["values"] = table["rows"][0]["values"][:5]

    monkeypatch.setattr(paper_module, "load_paper", lambda: _paper_with(short_row))
    with pytest.raises(ValueError, match=rf"^table4 row 'HS \[60\]': 5 values for 6 columns in "
                                         rf"{re.escape(str(reporting.PAPER_FILE))}$"):
        reporting.paper_table("table4")
    monkeypatch.setattr(paper_module, "load_paper",
                        lambda: _paper_with(lambda table: table.pop("footnotes")))
    assert reporting.paper_table("table4").footnotes == ()
