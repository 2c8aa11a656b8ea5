"""Paper-vs-ours tables built from results.json files (fabricated, schema of evaluate)."""

import math

from asnet_keras import reporting
from tests.support.results_fixtures import write_ablation, write_results


def test_compare_puts_ours_and_the_difference_under_the_asnet_row(tmp_path):
    write_results(tmp_path, ["ecssd", "hku-is", "pascal-s"])
    table = reporting.compare("table4", reporting.EvalResults(tmp_path))
    labels = [r.label for r in table.rows]
    i = labels.index("ASNet")
    assert labels[i + 1:i + 4] == ["ASNet (ours)", "ASNet (ours, maxF_PR)", "Δ ours − paper"]
    ours, diff = table.rows[i + 1], table.rows[i + 3]
    assert all(math.isfinite(v) for v in ours.values)
    assert diff.values[1] == ours.values[1] - 0.043
    assert "| ASNet (ours) |" in table.markdown()
    assert not table.messages  # everything was found


def test_dataset_map_reads_results_of_other_names(tmp_path):
    write_results(tmp_path, ["synthetic-both"], fixation_outputs=("fixation",))
    ours = reporting.EvalResults(tmp_path, "*=synthetic-both")
    values = reporting.compare("table2", ours).ours()["ASNet-14×14 (ours)"]
    assert all(math.isfinite(v) for v in values)
    # the 28×28 output is absent: the row stays empty and a note says why
    table = reporting.compare("table2", ours)
    assert table.ours()["ASNet-28×28 (ours)"] == [None] * 5
    assert any("--fixation-28" in n for n in table.notes)


def test_missing_folder_gives_the_command_not_an_error(tmp_path):
    ours = reporting.EvalResults(tmp_path / "nowhere")
    table = reporting.compare("table3", ours)
    assert [r.label for r in table.rows if r.kind == "paper"][0] == "Mr-CNN [36]"
    text = table.text()
    assert "does not exist" in text and "asnet evaluate" in text
    assert "--datasets pascal-s" in text


def test_missing_dataset_names_the_file_and_command(tmp_path):
    write_results(tmp_path, ["ecssd"])
    status = reporting.results_status("table4", reporting.EvalResults(tmp_path))
    assert status.level == "missing"
    assert "hku-is, pascal-s" in status.title
    assert "--datasets hku-is,pascal-s" in status.text()


def test_table5_reads_variants_and_intermediate_outputs(tmp_path):
    write_ablation(tmp_path, ["full", "wo_extra"], ["ecssd", "hku-is", "pascal-s"])
    ablation = reporting.AblationResults(tmp_path)
    ours = reporting.compare("table5", ablation).ours()
    for label in ("ASNet (conv1-output) (ours: full)", "conv5-output (ours: full, saliency_conv5)",
                  "w/o extra loss (ours: wo_extra)"):
        assert all(math.isfinite(v) for v in ours[label]), label
    assert ours["w/o fixation (ours: wo_fixation)"] == [None] * 6
    status = reporting.results_status("table5", ablation)
    assert "--variants wo_fixation,wo_convlstm" in status.text()


def test_pr_curves_and_qualitative_examples(tmp_path):
    import numpy as np
    import cv2

    write_results(tmp_path / "eval", ["synthetic-both"])
    ours = reporting.EvalResults(tmp_path / "eval", "*=synthetic-both")
    per_dataset, missing = reporting.pr_curves({"ours": ours})
    assert len(per_dataset) == 3 and not missing
    maps = tmp_path / "eval" / "synthetic-both" / "maps"
    for output in ("fixation", "saliency_conv1"):
        (maps / output).mkdir(parents=True)
        cv2.imwrite(str(maps / output / "a.png"), np.full((8, 8), 100, np.uint8))
    examples = reporting.qualitative_examples(ours, "ecssd", data_root=None)
    assert [e["id"] for e in examples] == ["a"] and examples[0]["saliency"].shape == (8, 8)
    fig = reporting.qualitative_figure(examples)
    assert len(fig.axes) == 4


def test_table5_from_one_models_results_fills_only_the_full_models_rows(tmp_path):
    write_results(tmp_path, ["ecssd", "hku-is", "pascal-s"],
                  sod_outputs=("saliency_conv1", "saliency_conv5"))
    ours = reporting.compare("table5", reporting.EvalResults(tmp_path)).ours()
    assert all(math.isfinite(v) for v in ours["conv5-output (ours)"])
    assert ours["w/o fixation (ours)"] == [None] * 6
