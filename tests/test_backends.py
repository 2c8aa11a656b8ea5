"""Every Keras backend (docs/backends.md §3–§5): weight files move between TensorFlow, JAX
and (when installed) torch with equal outputs, prediction gives the same maps under each,
and the training-step benchmark runs under JAX and torch without TensorFlow.

Each backend runs in its own process (Keras fixes the backend at import). TensorFlow and
JAX are always tested (make setup installs both); torch when it is installed
(`make setup-torch`).
"""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.support.backends import BACKENDS, installed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-6  # the figure docs/backends.md §6 states; measured 3.6e-7

pytestmark = pytest.mark.slow  # one process per backend


def available_backends():
    missing = [name for name in ("tensorflow", "jax") if not installed(name)]
    if missing:
        pytest.fail(f"{missing} not installed: run `make setup` (it installs the jax extra)")
    return [name for name in BACKENDS if installed(name)]


def environment(backend, jax_cache=None):
    """The environment of a child under `backend`; with `jax_cache`, JAX keeps every
    compiled executable there, so the same ASNet compiled again (one per loaded file) is
    read back instead of compiled."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    if jax_cache is not None:
        env.update(JAX_COMPILATION_CACHE_DIR=str(jax_cache),
                   JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    return env


def run_under(backend, args, cwd=REPO, timeout=600):
    """`python ARGS` under KERAS_BACKEND=backend with this checkout importable."""
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=environment(backend),
                            capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, (
        f"{backend}: python {' '.join(args)} failed ({result.returncode}):\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    return result


def test_weight_files_predict_fit_and_evaluate_under_every_backend(tmp_path):
    """Each backend writes `.weights.h5` and `.keras`, loads every other backend's,
    predicts with the TensorFlow-written weights, fits on the tf.data stream and evaluates
    (tests/support/backend_run.py), all backends at once."""
    from data_prep.synthetic import make_synthetic

    backends = available_backends()
    np.save(tmp_path / "images.npy",
            np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32"))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    rng = np.random.default_rng(1)
    cv2.imwrite(str(inputs / "a.png"), rng.integers(0, 256, (45, 61, 3), dtype=np.uint8))
    cv2.imwrite(str(inputs / "b.jpg"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))

    make_synthetic(tmp_path / "data", n=4, size=40, n_test=2)

    command = [sys.executable, "-m", "tests.support.backend_run", str(tmp_path),
               ",".join(backends)]
    processes = {}
    for backend in backends:  # output to files: full pipes would stall the others
        with open(tmp_path / f"{backend}.out", "w") as out, \
                open(tmp_path / f"{backend}.err", "w") as err:
            processes[backend] = subprocess.Popen(
                command, cwd=REPO, env=environment(backend, tmp_path / "jax_cache"),
                stdout=out, stderr=err)
    reports = {}
    for backend, process in processes.items():
        process.wait(timeout=900)
        stdout = (tmp_path / f"{backend}.out").read_text()
        stderr = (tmp_path / f"{backend}.err").read_text()
        assert process.returncode == 0, f"{backend} failed:\n{stdout[-2000:]}\n{stderr[-4000:]}"
        reports[backend] = json.loads(stdout.strip().splitlines()[-1])
        assert reports[backend]["backend"] == backend

    # The writers really differ (other random weights), and their maps are not constant.
    outputs = {b: np.load(tmp_path / b / "outputs.npz") for b in backends}
    first = outputs[backends[0]]
    for backend in backends[1:]:
        assert np.abs(outputs[backend]["arr_5"] - first["arr_5"]).max() > 1e-3
    assert min(float(np.std(first[k])) for k in first.files) > 1e-4

    differences = {}
    for backend, report in reports.items():
        expected = {f"{source}/{name}" for source in backends if source != backend
                    for name in ("model.weights.h5", "model.keras")}
        assert set(report["differences"]) == expected, (backend, sorted(report["differences"]))
        differences.update({f"{key} -> {backend}": v for key, v in report["differences"].items()})
    print(json.dumps(differences, indent=1))
    worst = max(differences, key=differences.get)
    assert differences[worst] <= TOLERANCE, (worst, differences[worst])

    # `asnet predict` gives the same maps under every backend.
    maps = {}
    for backend, report in reports.items():
        assert report["predict_status"] == 0, report["predict_stdout"]
        assert f"asnet predict: Keras backend {backend}" in report["predict_stdout"]
        assert "2 of 2 images written" in report["predict_stdout"]
        out = tmp_path / f"maps_{backend}"
        maps[backend] = {
            f"{kind}/{stem}": cv2.imread(str(out / kind / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
            for kind in ("saliency", "fixation") for stem in ("a", "b")
        }
    reference = maps["tensorflow"]
    assert reference["saliency/a"].shape == (45, 61)
    assert max(int(m.max()) - int(m.min()) for m in reference.values()) > 10  # not flat
    for backend in backends[1:]:
        for key, want in reference.items():
            got = maps[backend][key]
            assert got.shape == want.shape, (backend, key)
            # 8-bit maps of outputs equal within 1e-6: at most one grey level apart.
            assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, (backend, key)

    # Single-device training through compile_asnet + fit, then evaluation, under JAX and
    # torch (under TensorFlow: tests/training/test_steps.py, tests/evaluation).
    print(json.dumps({b: {k: round(v, 1) for k, v in r["seconds"].items()}
                      for b, r in reports.items()}))
    for backend, report in reports.items():
        if backend == "tensorflow":
            continue
        assert len(report["fit_losses"]) == 1 and np.isfinite(report["fit_losses"][0]), backend
        assert report["weights_changed"], backend
        assert report["evaluate_status"] == 0, backend
        results = report["evaluate_results"]
        assert results["n_images"] == 2, (backend, results.get("n_images"))
        mae = results["salient_object"]["saliency_conv1"]["MAE"]
        assert 0 < mae < 1, (backend, mae)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_train_step_benchmark_runs_without_tensorflow(backend, tmp_path):
    """benchmarks/train_step.py under JAX or torch with TensorFlow made unimportable."""
    if not installed(backend):
        pytest.skip(f"{backend} is not installed (make setup-torch adds torch)")
    script = os.path.join(REPO, "benchmarks", "train_step.py")
    code = (
        "import runpy, sys\n"
        "sys.modules['tensorflow'] = None  # any `import tensorflow` now fails\n"
        f"sys.argv = [{script!r}] + sys.argv[1:]\n"
        f"runpy.run_path({script!r}, run_name='__main__')\n"
    )
    result = run_under(backend, ["-c", code, "--backend", backend, "--size", "32", "--batch",
                                 "2", "--rounds", "1", "--warmup", "1", "--graphs", "static",
                                 "--no-memory"], cwd=tmp_path)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend and report["step"] == "keras"
    assert report["machine"]["backend"] == backend
    assert report["machine"]["devices"]
    assert report["tensorflow_loaded"] is False
    assert 0 < report["static_s_per_step"] < 600
