"""`make demo`: the reproduction pipeline on the synthetic data, shrunk (`--quick`: 48-px
images, 32-px model, two steps): data → check → estimate → train → evaluate → centre-bias
baseline → notebooks → report folder, in OUT/quick/."""

import json
import os

import pytest

from asnet_keras.commands import demo
from asnet_keras.reproduction.report import FP_METRICS, SOD_METRICS


def test_the_demo_settings_are_a_reproduction_of_the_synthetic_data():
    settings = demo.pipeline_settings(demo.QUICK, quick=True, progress=False)
    assert settings.train["input_size"] == 32 and settings.train["steps_per_epoch"] == 2
    assert settings.train["backbone_weights"] in ("imagenet", "none")
    assert settings.note == demo.QUICK_NOTE and settings.tag == "demo"
    assert demo.pipeline_settings(demo.FULL, quick=False, progress=True).note == ""


@pytest.mark.slow
def test_quick_demo_writes_the_report_folder(tmp_path, capsys):
    status = demo.main(["--out", str(tmp_path), "--quick", "--quiet"])
    assert status == 0
    out = tmp_path / demo.QUICK_FOLDER
    report = out / "report"
    for name in ("README.md", "report.json", "pr_curves.png", "qualitative.png"):
        assert (report / name).stat().st_size > 0, name
    metrics = json.loads((report / "report.json").read_text())
    assert metrics["n_images"] == {"synthetic-both": 6}
    assert metrics["train_config"]["backbone_weights"] in ("imagenet", "none")
    assert set(metrics["stages"]) == {"prepare synthetic", "verify", "estimate", "train",
                                      "evaluate", "baseline", "notebooks"}
    comparison = metrics["comparison"]["synthetic-both"]
    assert set(comparison) == set(FP_METRICS) | set(SOD_METRICS)
    # the baseline row is the centre-bias map scored through --pred-dir
    baseline = json.loads(open(os.path.join(metrics["results"]["centre_bias"],
                                            "synthetic-both", "results.json")).read())
    assert baseline["source"]["pred_dir"].endswith("baseline")
    assert comparison["maxF"]["centre_bias"] == baseline["salient_object"]["maps"]["maxF"]
    model = json.loads(open(os.path.join(metrics["results"]["asnet"], "synthetic-both",
                                         "results.json")).read())
    assert comparison["nss"]["asnet"] == model["fixation"]["fixation"]["nss"]
    assert (metrics["tables"]["table4"]["ours"]["ASNet (ours)"][0]
            == model["salient_object"]["saliency_conv1"]["maxF"])  # ECSSD → synthetic-both
    assert os.path.isfile(out / "run" / "finished.json")
    readme = (report / "README.md").read_text()
    assert "Quick mode" in readme and "Centre bias" in readme and "Estimated total:" in readme
    assert "[demo] report:" in capsys.readouterr().out
