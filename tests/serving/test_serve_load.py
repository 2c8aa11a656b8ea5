"""benchmarks/serve_load.py: its request plan, its summary figures, and one small real run
of both servers on 127.0.0.1 (docs/serving.md §5)."""

import importlib.util
import json
import os

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def serve_load():
    spec = importlib.util.spec_from_file_location(
        "serve_load", os.path.join(REPO, "benchmarks", "serve_load.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_levels_and_request_split(serve_load):
    assert serve_load.parse_levels("16,4,4") == [4, 16]
    assert serve_load.parse_levels(" 1, 8 ") == [1, 8]
    for bad in ("0,4", "four", ""):
        with pytest.raises(ValueError, match="--clients"):
            serve_load.parse_levels(bad)
    assert serve_load.split_requests(200, 4) == [50] * 4  # the 4 clients × 50
    assert serve_load.split_requests(200, 16) == [13] * 8 + [12] * 8
    assert serve_load.split_requests(5, 2) == [3, 2]


def test_summary_figures_by_hand(serve_load):
    # (latency s, ok, batch size, forward pass ms of the batch)
    records = [(0.1, True, 2, 80.0), (0.3, True, 2, 80.0), (0.2, True, 1, 50.0),
               (0.9, False, 0, 0.0)]
    summary = serve_load.summarise(records, seconds=2.0, planned=5)
    assert summary["ok"] == 3 and summary["requests"] == 4
    assert summary["errors"] == 2  # one failed, one never sent
    assert summary["throughput_rps"] == 1.5
    assert summary["latency_ms"]["p50"] == 200.0 and summary["latency_ms"]["mean"] == 200.0
    assert summary["latency_ms"]["p99"] == pytest.approx(298.0)  # numpy's linear percentile
    assert summary["mean_batch_size"] == pytest.approx(5 / 3, abs=0.005)
    assert summary["forward_ms_per_image"] == 40.0  # median of 40, 40, 50


def test_usage_errors_exit_2(serve_load, capsys):
    assert serve_load.main(["--clients", "0"]) == 2
    assert serve_load.main(["--image-size", "320by240"]) == 2
    assert serve_load.main(["--clients", "8", "--requests", "4"]) == 2
    assert "each client must send at least one" in capsys.readouterr().err


@pytest.mark.slow
def test_a_small_real_run_of_both_servers(serve_load, tmp_path):
    out, chart = tmp_path / "load.json", tmp_path / "load.png"
    status = serve_load.main(["--input-size", "32", "--clients", "1,3", "--requests", "6",
                              "--rounds", "2", "--out", str(out), "--plot", str(chart)])
    result = json.loads(out.read_text())
    assert result["host"] == "127.0.0.1" and result["max_batch"] == 8
    assert [level["clients"] for level in result["levels"]] == [1, 3]
    assert result["errors_total"] == 0
    for level in result["levels"]:
        one, batched = level["max_batch_1"], level["max_batch_8"]
        for setting in (one, batched):
            assert setting["ok"] == setting["planned"] == 12 and len(setting["rounds"]) == 2
            assert setting["latency_ms"]["p50"] <= setting["latency_ms"]["p99"]
        assert one["mean_batch_size"] == 1.0
        assert 1.0 <= batched["mean_batch_size"] <= level["clients"]
        assert level["speedup"] == pytest.approx(
            batched["throughput_rps"] / one["throughput_rps"], abs=0.002)
    lone = result["levels"][0]["max_batch_8"]
    assert lone["mean_batch_size"] == 1.0  # one client: nobody to share a pass with
    won = all(level["speedup"] > 1 for level in result["levels"][1:])
    assert result["won_at_every_level"] == won
    assert status == (0 if won else 1)  # the exit status follows the rule in the docstring
    image = cv2.imread(str(chart))
    assert image is not None and image.shape[1] > image.shape[0] > 200
    assert float(np.std(image)) > 0


@pytest.mark.slow
def test_a_small_runtime_comparison_exports_and_serves_the_artefact(serve_load, tmp_path):
    pytest.importorskip("openvino")
    out = tmp_path / "runtime.json"
    status = serve_load.main(["--compare", "runtime", "--input-size", "32", "--clients", "2",
                              "--requests", "6", "--rounds", "2", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["settings"] == {"tensorflow_f32": "TensorFlow float32 (.keras)",
                                  "openvino_bf16": "openvino bf16"}
    assert result["artifact"].endswith("asnet.xml") and result["errors_total"] == 0
    (level,) = result["levels"]
    tf, ov = level["tensorflow_f32"], level["openvino_bf16"]
    assert tf["ok"] == ov["ok"] == 12 and len(result["machine"]["loadavg_1min_after_each_round"]) == 4
    assert level["speedup"] == pytest.approx(ov["throughput_rps"] / tf["throughput_rps"],
                                             abs=0.002)
    assert result["won_at_every_level"] == (level["speedup"] >= 1.6)
    assert status == (0 if result["won_at_every_level"] else 1)


def test_an_artefact_needs_the_runtime_comparison(serve_load, tmp_path, capsys):
    assert serve_load.main(["--artifact", str(tmp_path / "none.xml")]) == 2
    assert "--compare runtime" in capsys.readouterr().err
