"""The report of `asnet reproduce` (docs/reproduce.md §4) from fabricated results, the
centre-bias baseline, and what the sources find under RAW."""

import json

import numpy as np
import pytest

from asnet_keras.formatting import format_number
from asnet_keras.names import PAPER_TRAINING_DATASETS
from asnet_keras.reporting import EvalResults
from asnet_keras.reproduction import RawSource, SyntheticSource
from asnet_keras.reproduction.baseline import centre_bias_map
from asnet_keras.reproduction.report import (
    baseline_comparison,
    compare,
    paper_tables,
    write_report,
)
from asnet_keras.training.config import TrainConfig
from tests.support import data_prep_fixtures as fixtures
from tests.support.results_fixtures import write_results


def test_centre_bias_map_peaks_at_the_centre():
    m = centre_bias_map(31, 41)
    assert m.shape == (31, 41) and m.dtype == np.uint8
    assert m[15, 20] == 255 and m.argmax() == 15 * 41 + 20
    assert m[0, 0] < 30  # corners: exp(-0.5 * (2^2 + 2^2)) ≈ 0.018 of the peak
    np.testing.assert_array_equal(m, m[::-1, ::-1])


def test_compare_knows_mae_is_lower_better():
    rows = compare({"maxF": 0.8, "MAE": 0.1}, {"maxF": 0.5, "MAE": 0.2})
    assert rows["maxF"]["asnet_better"] and rows["MAE"]["asnet_better"]
    rows = compare({"maxF": 0.4, "MAE": 0.3}, {"maxF": 0.5, "MAE": 0.2})
    assert not rows["maxF"]["asnet_better"] and not rows["MAE"]["asnet_better"]


def _facts(comparison, missing, n_images):
    return {"title": "T", "note": "", "source": "the datasets under RAW",
            "train_config": TrainConfig().to_json(), "steps_per_epoch": 7,
            "finished": "all 12 epochs done", "test_datasets": list(n_images),
            "n_images": n_images, "missing": missing, "dataset_map": None,
            "initialisation": "VGG16 initialised from ImageNet, as in the paper.",
            "comparison": comparison, "stages": {}, "figures": {},
            "notebooks": {"text": "None executed."}, "results": {},
            "load_average": None, "cpu_count": 2}


def test_the_report_shows_the_results_values_and_names_what_is_missing(tmp_path):
    # HKU-IS and MIT1003 "not found": ours for ECSSD and PASCAL-S only.
    ours = EvalResults(write_results(tmp_path / "asnet", ["ecssd", "pascal-s"], n=4))
    base = EvalResults(write_results(tmp_path / "base", ["ecssd", "pascal-s"],
                                     fixation_outputs=("maps",), sod_outputs=("maps",), seed=7))
    missing = {"hku-is": "HKU-IS.rar from X", "mit1003": "ALLSTIMULI.zip from Y"}
    comparison = baseline_comparison(ours, base, ["ecssd", "pascal-s"])
    tables = paper_tables(ours, missing)
    report = write_report(tmp_path, _facts(comparison, missing, {"ecssd": 4, "pascal-s": 4}),
                          tables, None, {})
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["tables"] == json.loads(json.dumps(report["tables"]))
    ecssd = json.loads((tmp_path / "asnet" / "ecssd" / "results.json").read_text())
    pascal = json.loads((tmp_path / "asnet" / "pascal-s" / "results.json").read_text())
    sod = "salient_object"
    assert report["tables"]["table4"]["ours"]["ASNet (ours)"] == [
        ecssd[sod]["saliency_conv1"]["maxF"], ecssd[sod]["saliency_conv1"]["MAE"], None, None,
        pascal[sod]["saliency_conv1"]["maxF"], pascal[sod]["saliency_conv1"]["MAE"]]
    assert report["tables"]["table2"]["ours"]["ASNet-14×14 (ours)"] == [None] * 5
    baseline = json.loads((tmp_path / "base" / "pascal-s" / "results.json").read_text())
    assert comparison["pascal-s"]["cc"] == {
        "asnet": pascal["fixation"]["fixation"]["cc"],
        "centre_bias": baseline["fixation"]["maps"]["cc"],
        "asnet_better": pascal["fixation"]["fixation"]["cc"] > baseline["fixation"]["maps"]["cc"]}
    readme = (tmp_path / "README.md").read_text()
    assert f"| maxF ↑ | {format_number(ecssd[sod]['saliency_conv1']['maxF'], 4)} |" in readme
    assert "Not found under RAW, so not evaluated: hku-is (HKU-IS.rar from X)" in readme
    assert "Not found under RAW, so not evaluated: mit1003 (ALLSTIMULI.zip from Y)" in readme
    assert "make eval" not in readme  # the missing sets are named, not a command for them
    assert "- Not found under RAW: hku-is (HKU-IS.rar from X); mit1003" in readme
    wins = sum(r["asnet_better"] for rows in comparison.values() for r in rows.values())
    # (5 fixation + 7 salient-object measures) × 2 sets
    assert f"ASNet beats the centre bias on {wins} of 24 measures" in readme
    assert report["asnet_beats_baseline_on_all"] == (wins == 24)


def test_raw_source_finds_the_downloads_and_names_the_missing(tmp_path):
    for dataset, folder in (("thus10k", "thus10k"), ("ecssd", "ecssd")):
        (tmp_path / folder).mkdir()
        fixtures.ALL_DATASETS[dataset][0](tmp_path / folder, None)
    source = RawSource(tmp_path)
    assert source.training_datasets == ("thus10k",) and source.test_datasets == ("ecssd",)
    assert set(source.missing) == {"salicon", "dut-omron", "pascal-s", "mit1003", "hku-is"}
    assert [s.name for s in source.preparation_stages(str(tmp_path / "data"))] == [
        "prepare thus10k", "prepare ecssd"]


def test_raw_source_refuses_a_folder_without_the_training_sets(tmp_path):
    with pytest.raises(FileNotFoundError, match="--raw .*: no such folder"):
        RawSource(tmp_path / "nope")
    (tmp_path / "salObj.zip").write_bytes(b"PK")
    with pytest.raises(FileNotFoundError, match="--raw .*: not a folder"):
        RawSource(tmp_path / "salObj.zip")
    (tmp_path / "ecssd").mkdir()
    fixtures.make_ecssd(tmp_path / "ecssd")
    with pytest.raises(ValueError, match="none of the paper's training datasets") as error:
        RawSource(tmp_path)
    assert all(name in str(error.value) for name in PAPER_TRAINING_DATASETS)


def test_the_synthetic_source_maps_every_paper_dataset_to_its_test_set():
    source = SyntheticSource(n=6, size=48, n_test=4)
    assert source.test_datasets == ("synthetic-both",) and source.missing == {}
    assert EvalResults("x", source.dataset_map).our_dataset("hku-is") == "synthetic-both"
    stage, = source.preparation_stages("data")
    assert stage.inputs() == {"n": 6, "size": 48, "n_test": 4, "seed": 0}


def test_a_bad_value_or_out_stops_before_any_work(tmp_path, capsys):
    from asnet_keras import commands

    (tmp_path / "thus10k").mkdir()
    fixtures.make_thus10k(tmp_path / "thus10k")
    status = commands.main(["reproduce", "--raw", str(tmp_path), "--out",
                            str(tmp_path / "out"), "--input-size", "50"])
    err = capsys.readouterr().err
    assert status == 2 and "--input-size" in err and "multiple of 16" in err, err
    assert not (tmp_path / "out").exists()
    (tmp_path / "out").write_text("a file")
    status = commands.main(["reproduce", "--raw", str(tmp_path), "--out",
                            str(tmp_path / "out"), "--input-size", "32"])
    err = capsys.readouterr().err
    assert status == 2 and "is a file: pass a folder" in err, err
    assert (tmp_path / "out").read_text() == "a file"
