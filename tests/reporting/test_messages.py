"""What the notebooks say when results are missing, incomplete or present, word for word:
the status messages and their commands (text and Markdown), the notes on where our
numbers come from, and the small tables' empty cases (`asnet_keras.reporting`)."""

import json

import pytest

from asnet_keras import reporting
from tests.support.results_fixtures import write_results

EVAL = ('make eval WEIGHTS=RUN_DIR DATA=DATA RESULTS={out} ARGS="--datasets {d}{flags}"\n'
        "# or: asnet evaluate --weights RUN_DIR --data DATA --datasets {d} "
        "--out {out}{flags}")


# the note under Tables 4 and 5
F_NOTE = ("F-score: ours is maxF (max over thresholds of the mean-over-images F curve, β² = "
          "0.3); the paper does not say which maxF convention it used (see the notes of "
          "paper_results.json).")


def _indented(command):
    return "\n".join("    " + line for line in command.splitlines())


def test_missing_results_folder_in_text_and_markdown(tmp_path):
    out = tmp_path / "none"
    status = reporting.results_status("table2", reporting.EvalResults(out))
    command = EVAL.format(out=out, d="mit1003", flags="")
    lines = ["The table shows the paper's rows only; the rows of ours stay empty until the "
             "evaluation results exist.",
             "Set RESULTS in the first cell (or the environment variable ASNET_RESULTS) if "
             "they are elsewhere."]
    assert status.level == "missing"
    assert status.text() == "\n".join(
        [f"No results: the folder {out} does not exist.", *("  " + line for line in lines),
         "Produce them with:", _indented(command)])
    assert status.markdown() == "\n".join(
        [f"**⚠️ No results: the folder {out} does not exist.**", "",
         *("- " + line for line in lines), "", "Produce them with:", "", "```bash", command,
         "```"])
    assert repr(status) == str(status) == status.text() and status._repr_markdown_() == status.markdown()


def test_missing_and_unreadable_datasets_are_named_with_the_command(tmp_path):
    write_results(tmp_path, ["ecssd"])
    (tmp_path / "hku-is").mkdir()
    (tmp_path / "hku-is" / "results.json").write_text("{bad")
    source = reporting.EvalResults(tmp_path)
    status = reporting.results_status("table5", source)
    reason = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert status.text() == "\n".join([
        f"Results missing in {tmp_path} for: hku-is, pascal-s.",
        f"  expected {tmp_path / 'hku-is' / 'results.json'}",
        f"  expected {tmp_path / 'pascal-s' / 'results.json'}",
        f"  unreadable: {tmp_path / 'hku-is' / 'results.json'}: {reason}",
        "Produce them with:",
        _indented(EVAL.format(out=tmp_path, d="hku-is,pascal-s", flags=" --all-outputs"))])
    write_results(tmp_path, ["hku-is", "pascal-s"])
    ok = reporting.results_status("table4", reporting.EvalResults(tmp_path))
    assert (ok.level, ok.text()) == ("ok", f"Results found in {tmp_path} for ecssd, hku-is, pascal-s.")
    assert ok.markdown() == f"**✅ Results found in {tmp_path} for ecssd, hku-is, pascal-s.**\n"


def test_renamed_datasets_appear_once_in_the_command(tmp_path):
    source = reporting.EvalResults(tmp_path / "none", "*=mine")
    status = reporting.results_status("table4", source)
    assert "--datasets mine " in status.text() and "--datasets mine," not in status.text()


def test_ablation_messages(tmp_path):
    folder = tmp_path / "abl"
    status = reporting.results_status("table5", reporting.AblationResults(folder))
    assert status.text() == "\n".join([
        f"No ablation results: the folder {folder} does not exist.",
        "  The table shows the paper's rows only; the rows of ours stay empty until the "
        "ablation runs exist.",
        "  Set ABLATION in the first cell (or the environment variable ASNET_ABLATION) if "
        "they are elsewhere.",
        "Produce them with:", f"    make ablation DATA=DATA OUT={folder}"])
    for variant in ("full", "wo_fixation", "wo_convlstm", "wo_precision", "wo_recall",
                    "wo_fmeasure"):
        write_results(folder / variant / "eval", ["ecssd", "hku-is", "pascal-s"])
    status = reporting.results_status("table5", reporting.AblationResults(folder))
    assert status.text() == "\n".join([
        f"Ablation results incomplete in {folder}: 2 of 8 variants lack results for ecssd, "
        "hku-is, pascal-s: wo_mae, wo_extra.",
        "  Finished variants are not trained again when the runner is called again.",
        "Produce them with:",
        f"    asnet ablation --data DATA --out {folder} --variants wo_mae,wo_extra",
        f"    make ablation DATA=DATA OUT={folder}   # or all variants"])
    for variant in ("wo_mae", "wo_extra"):
        write_results(folder / variant / "eval", ["ecssd", "hku-is", "pascal-s"])
    status = reporting.results_status("table5", reporting.AblationResults(folder))
    assert (status.level, status.text()) == ("ok", f"Ablation results complete in {folder}.")


def test_notes_say_where_our_numbers_come_from(tmp_path):
    write_results(tmp_path, ["mine"], weights="runs/a/best.weights.h5")
    data = json.loads((tmp_path / "mine" / "results.json").read_text())
    data.update(warnings=["w1", "w2", "w3", "w4"], split="val", n_images=7)
    (tmp_path / "mine" / "results.json").write_text(json.dumps(data))
    source = reporting.EvalResults(tmp_path, "pascal-s=mine")
    table = reporting.compare("table3", source)
    assert table.notes[:2] == [
        f"Ours: `{tmp_path}`",
        "pascal-s → our `mine`: 7 images (val split), from `runs/a/best.weights.h5`; "
        "4 warning(s): w1; w2; w3",
    ]
    assert table.notes[2] == ("ASNet-28×28: output `fixation_conv4` is not in "
                              f"{tmp_path} (the model was trained without the 28×28 fixation "
                              "output; train with `--fixation-28` (asnet train "
                              "... --fixation-28) and evaluate again).")
    assert len(table.notes) == 3
    data = dict(data, source={"pred_dir": "maps/"}, warnings=[])
    (tmp_path / "mine" / "results.json").write_text(json.dumps(data))
    notes = reporting.compare("table3", reporting.EvalResults(tmp_path, "pascal-s=mine")).notes
    assert notes[1] == "pascal-s → our `mine`: 7 images (val split), from `maps/`"
    missing = reporting.compare("table2", reporting.EvalResults(tmp_path))
    assert missing.notes[1] == f"mit1003: missing ({tmp_path / 'mit1003' / 'results.json'})"
    sod = reporting.compare("table4", reporting.EvalResults(tmp_path)).notes
    assert sod[-1] == F_NOTE


def test_tables_without_results(tmp_path):
    empty = reporting.compare("table4", None)
    assert empty.notes == ["No results of ours given: the rows of ours are empty.", F_NOTE]
    assert empty.messages == []
    assert empty.ours()["ASNet (ours)"] == [None] * 6
    source = reporting.EvalResults(tmp_path)
    assert repr(reporting.nan_summary(source, ["ecssd"], "salient_object")) == (
        "No per-output details (no results).")
    assert repr(reporting.our_metrics(source, ["ecssd"], "salient_object")) == (
        "No results of ours to list.")
    paper = reporting.paper_only("table2")
    assert paper.notes == ["Source: the paper (Wenguan Wang, Jianbing Shen, Xingping Dong, "
                           "Ali Borji. Salient Object Detection Driven by Fixation Prediction. "
                           "CVPR 2018.)"]
    assert [r.kind for r in paper.rows] == ["paper"] * 12
    assert paper.text().splitlines()[0] == ("Table 2. Quantitative comparison of different FP "
                                            "models on the MIT1003 [23] dataset.")
    assert paper.markdown().splitlines()[:2] == [
        "**Table 2.** Quantitative comparison of different FP models on the MIT1003 [23] "
        "dataset.", ""]
    assert "<small>- The authors in [26, 43] have not released detailed results.</small><br>" in (
        paper.markdown().splitlines())
    assert "- The authors in [26, 43] have not released detailed results." in (
        paper.text().splitlines())


def test_dataset_maps_and_results_lookups(tmp_path):
    assert reporting.parse_dataset_map("ecssd = my-ecssd, ,*=x") == {"ecssd": "my-ecssd", "*": "x"}
    assert reporting.parse_dataset_map(None) == {} and reporting.parse_dataset_map("") == {}
    given = {"a": "b"}
    copy = reporting.parse_dataset_map(given)
    assert copy == given and copy is not given
    with pytest.raises(ValueError, match=r"^dataset map entry 'ecssd': write "
                                         r"PAPER_DATASET=OUR_DATASET \(e\.g\. ecssd=ecssd-test, "
                                         r"or \*=synthetic-both for all\)$"):
        reporting.parse_dataset_map("ecssd")
    write_results(tmp_path, ["ecssd"], sod_outputs=("maps",))
    source = reporting.EvalResults(tmp_path)
    assert repr(source) == f"EvalResults({str(tmp_path)!r})"
    assert repr(reporting.AblationResults(tmp_path)) == f"AblationResults({str(tmp_path)!r})"
    # pred-dir results ("maps") stand for the final output, only for salient objects
    assert source.entry("ecssd", "salient_object", "saliency_conv1") is source.entry(
        "ecssd", "salient_object", "maps")
    assert source.entry("ecssd", "salient_object", "saliency_conv2") is None
    assert source.entry("ecssd", "fixation", "saliency_conv1") is None
    assert source.entry("pascal-s", "salient_object", "maps") is None
    assert source.value("ecssd", "salient_object", "maps", "no such key") is None
    assert source.outputs("ecssd", "salient_object") == ["maps"]
    assert source.outputs("pascal-s", "fixation") == []
    assert reporting.AblationResults(tmp_path).variant("full").label == "full (ours)"


def test_a_plain_message_has_no_icon_and_show_prints_outside_jupyter(capsys):
    message = reporting.Message("Nothing to say.", ["a line"])
    assert message.level == "info"
    assert message.markdown() == "**Nothing to say.**\n\n- a line"
    assert message.text() == "Nothing to say.\n  a line"
    reporting.show(message, reporting.Message("Second."))
    assert capsys.readouterr().out == "Nothing to say.\n  a line\nSecond.\n"


def test_show_displays_in_jupyter_and_prints_without_ipython(monkeypatch, capsys):
    import sys

    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: "a running kernel")
    monkeypatch.setattr(IPython.display, "display", shown.append)
    first, second = reporting.Message("One."), reporting.Message("Two.")
    reporting.show(first, second)
    assert shown == [first, second] and capsys.readouterr().out == ""
    monkeypatch.setitem(sys.modules, "IPython", None)  # not installed: import fails
    reporting.show(first)
    assert shown == [first, second] and capsys.readouterr().out == "One.\n"


def test_the_markdown_of_a_table_separates_its_parts_with_blank_lines(tmp_path):
    table = reporting.compare("table4", reporting.EvalResults(tmp_path / "none"))
    lines = table.markdown().splitlines()
    end = max(i for i, line in enumerate(lines) if line.startswith("| ASNet (ours, maxF_PR) |"))
    assert lines[end + 1:end + 5] == [
        "", "<small>- The authors in [26] have not released detailed results.</small><br>",
        "<small>* MDF [31] is trained on a subset of HKU-IS, and evaluated on the remaining "
        "images.</small><br>", ""]
    assert lines[end + 5:end + 11] == [
        f"- Ours: `{tmp_path / 'none'}`",
        f"- ecssd: missing ({tmp_path / 'none' / 'ecssd' / 'results.json'})",
        f"- hku-is: missing ({tmp_path / 'none' / 'hku-is' / 'results.json'})",
        f"- pascal-s: missing ({tmp_path / 'none' / 'pascal-s' / 'results.json'})",
        f"- {F_NOTE}", ""]
    assert lines[end + 11] == f"**⚠️ No results: the folder {tmp_path / 'none'} does not exist.**"


def test_ablation_statuses_are_missing_until_complete(tmp_path):
    folder = tmp_path / "abl"
    status = reporting.results_status("table5", reporting.AblationResults(folder))
    assert status.level == "missing" and status.markdown().startswith("**⚠️ No ablation")
    write_results(folder / "full" / "eval", ["ecssd", "hku-is", "pascal-s"])
    status = reporting.results_status("table5", reporting.AblationResults(folder))
    assert status.level == "missing" and status.markdown().startswith("**⚠️ Ablation results "
                                                                       "incomplete")


def test_notes_for_an_unrenamed_dataset_and_for_missing_counts(tmp_path):
    write_results(tmp_path, ["mit1003"])
    notes = reporting.compare("table2", reporting.EvalResults(tmp_path)).notes
    assert notes[1] == "mit1003: 4 images (test split), from `runs/x/best.weights.h5`"
    data = json.loads((tmp_path / "mit1003" / "results.json").read_text())
    del data["n_images"], data["split"]
    (tmp_path / "mit1003" / "results.json").write_text(json.dumps(data))
    notes = reporting.compare("table2", reporting.EvalResults(tmp_path)).notes
    assert notes[1] == "mit1003: ? images (? split), from `runs/x/best.weights.h5`"


def test_a_missing_output_is_named_with_what_produces_it(tmp_path):
    # one model evaluated without --all-outputs: Table 5's conv5 … conv2 rows are empty
    write_results(tmp_path, ["ecssd", "hku-is", "pascal-s"])
    notes = reporting.compare("table5", reporting.EvalResults(tmp_path)).notes
    assert notes[4] == (f"conv5-output: output `saliency_conv5` is not in {tmp_path} "
                        "(evaluate with `--all-outputs`).")
    # a fixation output that is neither: the note names it and nothing more
    write_results(tmp_path, ["mit1003"], fixation_outputs=("fixation_conv4",))
    notes = reporting.compare("table2", reporting.EvalResults(tmp_path)).notes
    assert notes[2:] == [f"ASNet-14×14: output `fixation` is not in {tmp_path}."]


def test_an_output_present_without_the_tables_metrics_is_not_called_missing(tmp_path):
    write_results(tmp_path, ["mit1003"], fixation_outputs=("fixation", "fixation_conv4"))
    data = json.loads((tmp_path / "mit1003" / "results.json").read_text())
    data["fixation"]["fixation"] = {"n_images": 4}  # present, but no metric in it
    (tmp_path / "mit1003" / "results.json").write_text(json.dumps(data))
    table = reporting.compare("table2", reporting.EvalResults(tmp_path))
    assert table.ours()["ASNet-14×14 (ours)"] == [None] * 5
    assert len(table.notes) == 2 and "is not in" not in table.notes[1]


def test_dataset_maps_keep_what_follows_the_first_equals_sign_and_reach_ablation_variants(
        tmp_path):
    assert reporting.parse_dataset_map("ecssd=my=ecssd") == {"ecssd": "my=ecssd"}
    assert reporting.EvalResults(tmp_path).label == "ASNet (ours)"
    write_results(tmp_path / "full" / "eval", ["mine"], sod_outputs=("saliency_conv1",))
    ablation = reporting.AblationResults(tmp_path, "*=mine")
    assert ablation.variant("full").path("ecssd") == tmp_path / "full" / "eval" / "mine" / \
        "results.json"
    row = reporting.compare("table5", ablation).ours()["ASNet (conv1-output) (ours: full)"]
    assert all(value is not None for value in row)
