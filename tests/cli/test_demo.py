"""`make demo`'s pipeline, shrunk (`--quick`: 48-px images, 32-px model, two steps):
data → train → evaluate → centre-bias baseline → report folder."""

import json
import os

import numpy as np
import pytest

from asnet_keras.commands import demo


def test_centre_bias_map_peaks_at_the_centre():
    m = demo.centre_bias_map(31, 41)
    assert m.shape == (31, 41) and m.dtype == np.uint8
    assert m[15, 20] == 255 and m.argmax() == 15 * 41 + 20
    assert m[0, 0] < 30  # corners: exp(-0.5 * (2^2 + 2^2)) ≈ 0.018 of the peak
    np.testing.assert_array_equal(m, m[::-1, ::-1])


def test_compare_knows_mae_is_lower_better():
    rows = demo.compare({"maxF": 0.8, "MAE": 0.1}, {"maxF": 0.5, "MAE": 0.2})
    assert rows["maxF"]["asnet_better"] and rows["MAE"]["asnet_better"]
    rows = demo.compare({"maxF": 0.4, "MAE": 0.3}, {"maxF": 0.5, "MAE": 0.2})
    assert not rows["maxF"]["asnet_better"] and not rows["MAE"]["asnet_better"]


@pytest.mark.slow
def test_quick_demo_writes_the_report_folder(tmp_path, capsys):
    status = demo.main(["--out", str(tmp_path), "--quick", "--quiet"])
    assert status == 0
    report = tmp_path / "report"
    for name in ("README.md", "metrics.json", "pr_curve.png", "qualitative.png"):
        assert (report / name).stat().st_size > 0, name
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["quick"] is True and metrics["n_images"] == 6
    assert metrics["backbone_weights"] in ("imagenet", "none")
    assert set(metrics["timings_s"]) == {"data", "train", "evaluate", "baseline", "report", "total"}
    assert set(metrics["comparison"]) == set(demo.FP_METRICS) | set(demo.SOD_METRICS)
    # the baseline row is the centre-bias map scored through --pred-dir
    baseline = json.loads(open(metrics["results"]["centre_bias"]).read())
    assert baseline["source"]["pred_dir"].endswith("baseline")
    assert metrics["comparison"]["maxF"]["centre_bias"] == baseline["salient_object"]["maps"]["maxF"]
    model = json.loads(open(metrics["results"]["asnet"]).read())
    assert metrics["comparison"]["nss"]["asnet"] == model["fixation"]["fixation"]["nss"]
    assert os.path.isfile(tmp_path / "run-quick" / "finished.json")
    readme = (report / "README.md").read_text()
    assert "Quick mode" in readme and "Centre bias" in readme
    assert "[demo] total:" in capsys.readouterr().out
