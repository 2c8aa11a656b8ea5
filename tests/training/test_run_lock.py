"""`asnet_keras.run_lock`: one process per run folder; a killed holder does not block
(docs/data_integrity.md §4). The end-to-end case with two training commands is in
test_train.py (the kill -9 fixture)."""

import json
import os
import signal
import subprocess
import sys

import pytest

from asnet_keras.training import run_lock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLDER = (
    "import sys, time\n"
    "from asnet_keras.training import run_lock\n"
    "run_lock.acquire(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "time.sleep(120)\n"
)


def _holder(out):
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], cwd=REPO,
                               env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_second_process_is_refused_naming_the_holder_and_kill_9_frees_the_folder(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        with pytest.raises(run_lock.RunLocked) as refused:
            run_lock.acquire(out)
        message = str(refused.value)
        assert f"process {holder.pid} on host" in message
        assert "in use by another training run" in message and "--out" in message
        assert refused.value.holder["pid"] == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the lock died with its process; the stale details in the file do not matter
    assert json.load(open(out / "train.lock"))["pid"] == holder.pid
    with run_lock.run_lock(out) as handle:
        assert handle["holder"]["pid"] == os.getpid()
        assert json.load(open(out / "train.lock"))["pid"] == os.getpid()
    assert not (out / "train.lock").exists()
    assert out.is_dir()  # existed before this lock: kept


def test_release_removes_a_folder_only_the_lock_created(tmp_path):
    out = tmp_path / "new"
    with run_lock.run_lock(out):
        assert (out / "train.lock").is_file()
    assert not out.exists()
    with run_lock.run_lock(out):
        (out / "history.csv").write_text("epoch\n")
    assert (out / "history.csv").is_file() and not (out / "train.lock").exists()


def test_same_process_cannot_lock_twice(tmp_path):
    with run_lock.run_lock(tmp_path):
        with pytest.raises(run_lock.RunLocked, match=f"process {os.getpid()}"):
            run_lock.acquire(tmp_path)


def test_multiworker_tasks_lock_their_own_file():
    assert run_lock.lock_name("none") == "train.lock"
    config = json.dumps({"cluster": {"worker": ["a:1", "b:1"]},
                         "task": {"type": "worker", "index": 1}})
    assert run_lock.lock_name("multiworker", config) == "train-worker-1.lock"
    assert run_lock.lock_name("multiworker", "") == "train.lock"
