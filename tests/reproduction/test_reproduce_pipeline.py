"""`asnet reproduce` end to end on miniature copies of the real downloads, at 64 px.

RAW holds the seven datasets of the paper laid out as their archives come
(`tests/support/data_prep_fixtures.py`: SALICON unpacked, THUS10K and ECSSD zipped,
DUT-OMRON with its macOS debris, PASCAL-S's salObj tree, MIT1003, HKU-IS). The first
`asnet reproduce` is killed with SIGKILL once training has backed up a step of its second
epoch; the same command then resumes it: every stage before training is skipped (the
state file keeps their entries, the console says "skipped"), training resumes mid-epoch
from its backup, and the run completes with its report. A third call finds everything
complete. Tiny settings: 2 epochs × 3 steps of 2 images, one timed step; the three calls
took 1-2.5 minutes on 2 shared cores (docs/reproduce.md §5).
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from asnet_keras import reporting
from asnet_keras.formatting import format_number
from asnet_keras.names import PAPER_TEST_DATASETS, PAPER_TRAINING_DATASETS
from tests.support import data_prep_fixtures as fixtures
from tests.support.training_runs import (
    HOLDING_ASNET,
    REPO,
    environment,
    held_after_backup,
    kill_when_held,
)

pytestmark = pytest.mark.slow

STEPS = 3  # steps per epoch
# The folder each dataset sits in under RAW, as `asnet prepare all` finds it.
RAW_FOLDERS = {"salicon": "salicon", "thus10k": "thus10k", "dut-omron": "DUT-OMRON",
               "pascal-s": "pascal-s", "mit1003": "mit1003", "ecssd": "ecssd",
               "hku-is": "HKU-IS"}
EARLIER_STAGES = ([f"prepare {d}" for d in RAW_FOLDERS] + ["verify", "estimate"])
LATER_STAGES = ("evaluate", "baseline", "notebooks")


def write_raw(root):
    """The paper's seven datasets in miniature under `root`, as downloaded."""
    for dataset, folder in RAW_FOLDERS.items():
        make, _ = fixtures.ALL_DATASETS[dataset]
        (root / folder).mkdir(parents=True)
        make(root / folder, None)
    return root


def command(raw, out):
    return [sys.executable, "-m", *HOLDING_ASNET, "reproduce", "--raw", str(raw),
            "--out", str(out), "--input-size", "64", "--batch-size", "2", "--epochs", "2",
            "--steps-per-epoch", str(STEPS), "--backup-every", "1", "--backbone-weights",
            "none", "--timing-steps", "1", "--n-splits", "10", "--quiet"]


def _state(out):
    return json.loads((out / "state.json").read_text())["stages"]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """Run, SIGKILL once the first step of epoch 2 is backed up (the run holds there:
    tests/support/hold_after_backup.py), run the same again, and again."""
    base = tmp_path_factory.mktemp("reproduce")
    raw, out = write_raw(base / "raw"), base / "out"
    started = time.perf_counter()
    hold, marker = held_after_backup(out, STEPS + 1)
    with open(base / "first.log", "w") as log:
        first = subprocess.Popen(command(raw, out), cwd=REPO, env=environment(**hold),
                                 stdout=log, stderr=subprocess.STDOUT, text=True)
        kill_when_held(first, marker, timeout=600, log=base / "first.log")
    assert (out / "run" / "backup" / f"ckpt-{STEPS + 1}.index").exists()
    first_seconds = time.perf_counter() - started
    state_after_kill = _state(out)
    second = subprocess.run(command(raw, out), cwd=REPO, env=environment(),
                            capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-5000:]
    state_after_resume = _state(out)
    third = subprocess.run(command(raw, out), cwd=REPO, env=environment(),
                           capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stdout[-5000:] + third.stderr[-5000:]
    return {
        "raw": raw, "out": out, "first": (base / "first.log").read_text(),
        "first_seconds": first_seconds, "second": second, "third": third,
        "state_after_kill": state_after_kill, "state_after_resume": state_after_resume,
        "seconds": time.perf_counter() - started,
    }


def test_the_estimate_is_printed_before_training(reproduced):
    first = reproduced["first"]
    estimate = first.index("Estimated total:")
    assert "Timed the training step here:" in first[:estimate]
    assert estimate < first.index("[reproduce 10/13] train:")
    # killed in training: what came before is complete, training is not
    state = reproduced["state_after_kill"]
    assert all(state[name]["status"] == "complete" for name in EARLIER_STAGES)
    assert state["train"]["status"] == "started" and "evaluate" not in state


def test_the_resume_skips_the_earlier_stages_and_resumes_training(reproduced):
    second, before = reproduced["second"].stdout, reproduced["state_after_kill"]
    after = reproduced["state_after_resume"]
    for i, name in enumerate(EARLIER_STAGES, 1):
        assert f"[reproduce {i}/13] {name}: complete since " in second, name
        assert after[name] == before[name], name  # entry, times included, untouched
    # the trainer resumed inside epoch 2 from its backup, not from the start
    assert re.search(rf"Resuming {re.escape(str(reproduced['out'] / 'run'))} from epoch 2, "
                     rf"step [12]/{STEPS} \(backup ", second), second
    assert "Starting " not in second
    assert after["train"]["status"] == "complete"
    assert after["train"]["started"] != before["train"]["started"]
    for name in ("train", *LATER_STAGES):
        assert f"{name}: done in" in second, name
    # the third call finds every stage complete
    third = reproduced["third"].stdout
    assert third.count(": complete since ") == 13 and ": done in" not in third
    assert _state(reproduced["out"]) == after


def test_every_stage_leaves_its_outputs(reproduced):
    out = reproduced["out"]
    for dataset in RAW_FOLDERS:
        assert (out / "data" / dataset / "meta.json").is_file(), dataset
    finished = json.loads((out / "run" / "finished.json").read_text())
    assert finished["epochs"] == 2 and not finished["early_stopped"]
    history = (out / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 2  # header, one row per epoch: no epoch repeated or lost
    config = json.loads((out / "run" / "config.json").read_text())
    assert config["datasets"] == list(PAPER_TRAINING_DATASETS)
    assert config["input_size"] == 64 and config["steps_per_epoch_resolved"] == STEPS
    for dataset in PAPER_TEST_DATASETS:
        for folder in ("eval/asnet", "eval/centre-bias"):
            assert (out / folder / dataset / "results.json").is_file(), (folder, dataset)
        assert (out / "eval" / "asnet" / dataset / "maps" / "saliency_conv1").is_dir()
    state = _state(out)
    assert state["notebooks"]["outputs"]["failed"] == []
    assert len(state["notebooks"]["outputs"]["executed"]) == 5
    for name in state["notebooks"]["outputs"]["executed"]:
        cells = json.loads((out / "notebooks" / f"{name}.ipynb").read_text())["cells"]
        assert any(c.get("outputs") for c in cells if c["cell_type"] == "code"), name
    for name in ("README.md", "report.json", "pr_curves.png", "qualitative.png"):
        assert (out / "report" / name).stat().st_size > 0, name


def _results(out, folder, dataset):
    return json.loads((out / folder / dataset / "results.json").read_text())


def test_the_report_tables_hold_the_evaluated_values(reproduced):
    out = reproduced["out"]
    report = json.loads((out / "report" / "report.json").read_text())
    readme = (out / "report" / "README.md").read_text()
    ours = {d: _results(out, "eval/asnet", d) for d in PAPER_TEST_DATASETS}
    # Table 4: ECSSD, HKU-IS, PASCAL-S, each maxF then MAE of saliency_conv1
    expected = [ours[d]["salient_object"]["saliency_conv1"][k]
                for d in ("ecssd", "hku-is", "pascal-s") for k in ("maxF", "MAE")]
    assert report["tables"]["table4"]["ours"]["ASNet (ours)"] == expected
    row = "| ASNet (ours) | " + " | ".join(format_number(v) for v in expected) + " |"
    assert row in readme
    # Tables 2 and 3: the fixation output on MIT1003 and PASCAL-S
    keys = ("auc_judd", "sim", "sauc", "cc", "nss")
    for table, dataset in (("table2", "mit1003"), ("table3", "pascal-s")):
        values = [ours[dataset]["fixation"]["fixation"][k] for k in keys]
        assert report["tables"][table]["ours"]["ASNet-14×14 (ours)"] == values, table
    # beside the centre bias, per dataset, from the two results.json files
    baseline = _results(out, "eval/centre-bias", "pascal-s")
    row = report["comparison"]["pascal-s"]
    assert row["maxF"]["asnet"] == ours["pascal-s"]["salient_object"]["saliency_conv1"]["maxF"]
    assert row["maxF"]["centre_bias"] == baseline["salient_object"]["maps"]["maxF"]
    assert row["nss"]["centre_bias"] == baseline["fixation"]["maps"]["nss"]
    assert set(report["comparison"]) == set(PAPER_TEST_DATASETS)
    assert "nss" not in report["comparison"]["ecssd"]  # ECSSD has no fixations
    # what the paper's tables read is what the report shows
    assert reporting.compare("table4", reporting.EvalResults(out / "eval" / "asnet")).ours()[
        "ASNet (ours)"] == expected
    assert report["missing"] == {}  # every dataset of the paper was under RAW


def test_the_report_gives_the_estimate_beside_the_measured_times(reproduced):
    report = json.loads((reproduced["out"] / "report" / "report.json").read_text())
    estimate = report["estimate"]
    assert estimate["steps_per_epoch"] == STEPS and estimate["epochs"] == 2
    assert estimate["batch_size"] == 2 and estimate["input_size"] == 64
    assert estimate["n_test"] == sum(report["n_images"].values()) == 2 + 3 + 2 + 3
    assert len(estimate["step"]["seconds"]) == 1
    stages = report["stages"]
    assert set(stages) == set(EARLIER_STAGES) | {"train", *LATER_STAGES}
    assert all(s["status"] == "complete" and s["seconds"] > 0 for s in stages.values())
    assert report["this_call"] == {name: "skipped" for name in stages}  # the third call
    print(f"\nreproduce on 7 miniature datasets, 64 px: killed after "
          f"{reproduced['first_seconds']:.0f} s, all three calls {reproduced['seconds']:.0f} s; "
          f"estimated {report['estimated_total_s']:.0f} s after the estimate; stages "
          + ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in stages.items())
          + f"; load {os.getloadavg()[0]:.1f}")
