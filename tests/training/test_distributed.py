"""Scale-out on tf.distribute (docs/framework_notes.md §5): `--strategy mirrored` over two logical
CPU devices and `--strategy multiworker` with two local workers (TF_CONFIG on
127.0.0.1) each train a few steps to a finite loss.

The three processes start together: their graph tracing is single-threaded Python, so
running them side by side roughly halves the wall time on two cores."""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from data_prep.synthetic import make_synthetic

pytestmark = pytest.mark.slow  # subprocess runs; `make test-fast` leaves them out

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def command(root, out, *extra):
    return [
        sys.executable, "-m", "asnet_keras", "train", "--data", root, "--out", out,
        "--datasets", "synthetic-fix,synthetic-sod,synthetic-both", "--input-size", "32",
        "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "2",
        "--backbone-weights", "none", "--verbose", "0", *extra,
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("distributed")
    root = str(base / "prepared")
    make_synthetic(root, n=8, size=48)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    env.pop("TF_CONFIG", None)
    outs = {name: str(base / name) for name in ("single", "mirrored", "multiworker")}
    processes = {
        "single": subprocess.Popen(
            command(root, outs["single"]),
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ),
        "mirrored": subprocess.Popen(
            command(root, outs["mirrored"], "--strategy", "mirrored", "--cpu-devices", "2"),
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
    }
    cluster = [f"127.0.0.1:{p}" for p in free_ports(2)]
    for index in range(2):
        tf_config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        processes[f"worker{index}"] = subprocess.Popen(
            command(root, outs["multiworker"], "--strategy", "multiworker"),
            cwd=REPO, env=dict(env, TF_CONFIG=json.dumps(tf_config)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
    results = {}
    try:
        for name, process in processes.items():
            output = process.communicate(timeout=500)[0]
            results[name] = (process.returncode, output)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    return outs, results


def read_rows(out):
    with open(os.path.join(out, "history.csv")) as f:
        return list(csv.DictReader(f))


def check_finished(out, replicas):
    rows = read_rows(out)
    assert len(rows) == 1
    for key, value in rows[0].items():
        assert np.isfinite(float(value)), key
    assert 0 < float(rows[0]["loss"]) < 10
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["replicas"] == replicas
    with open(os.path.join(out, "finished.json")) as f:
        assert json.load(f)["epochs"] == 1
    assert os.path.getsize(os.path.join(out, "last.keras")) > 0


def test_mirrored_on_two_logical_cpus_trains_to_a_finite_loss(runs):
    outs, results = runs
    code, output = results["mirrored"]
    assert code == 0, output
    check_finished(outs["mirrored"], replicas=2)


def test_multiworker_with_two_local_workers_trains_to_a_finite_loss(runs):
    outs, results = runs
    for name in ("worker0", "worker1"):
        code, output = results[name]
        assert code == 0, f"{name}:\n{output}"
    check_finished(outs["multiworker"], replicas=2)
    # Only the chief writes the run folder; the other worker keeps its own backup.
    assert "Starting" in results["worker0"][1] and "Starting" not in results["worker1"][1]
    assert os.path.isdir(os.path.join(outs["multiworker"], "backup", "worker-1"))


@pytest.mark.parametrize("strategy", ["mirrored", "multiworker"])
def test_replicas_give_the_single_device_losses(runs, strategy):
    """The global batch split over two replicas (with synchronised batch norm) trains as
    one device on the whole batch: the epoch's losses agree up to float32 noise."""
    outs, results = runs
    assert results["single"][0] == 0, results["single"][1]
    assert results[strategy if strategy == "mirrored" else "worker0"][0] == 0
    single, replicated = read_rows(outs["single"])[0], read_rows(outs[strategy])[0]
    for key in single:
        if key.endswith("loss"):
            np.testing.assert_allclose(float(replicated[key]), float(single[key]), rtol=1e-4,
                                       atol=1e-5, err_msg=key)
