"""What every Keras backend must do, one process per backend (tests/test_backends.py).

    KERAS_BACKEND=jax python -m tests.support.backend_run FOLDER tensorflow,jax,torch

Each process (all started together by `tests/test_backends.py`):
1. `write`: builds the 32-px `paper` ASNet with the ASNet-28×28 head (six ConvLSTMs, batch
   norm, every output), sets every weight to a random value (biases and batch-norm
   statistics too; other values under every backend), and writes into FOLDER/<backend>/
   its `.weights.h5` (with the config.json training would write beside it), its whole
   `.keras` model and its outputs on FOLDER/images.npy; then FOLDER/<backend>.written;
2. waits until every listed backend has written;
3. `read`: loads every other backend's two files with `asnet_keras.load_asnet` and takes
   the largest output difference against the writer's own outputs for each;
4. runs `asnet predict` (its `main`) with the TensorFlow-written weights
   on FOLDER/inputs/ into FOLDER/maps_<backend>/;
5. under JAX and torch (TensorFlow's `fit` and evaluation have their own tests): trains a
   fresh 32-px model for two steps with `compile_asnet` + `fit` on the `tf.data` training
   stream of the synthetic datasets in FOLDER/data, saves it, and scores it with
   `asnet evaluate` (its `main`) on two test images of synthetic-both;
and prints one JSON line: {"differences": {"<source>/<file>": max |difference|},
"predict_status", "predict_stdout", "fit_losses", "weights_changed", "evaluate_status",
"evaluate_results" (the saved results.json), "seconds" (of each step)}.
"""

import contextlib
import io
import json
import os
import sys
import time

import numpy as np

SIZE = 32
FILES = ("model.weights.h5", "model.keras")


def _outputs(model, images):
    return [np.asarray(o, "float32") for o in model.predict_on_batch(images)]


def _randomise(model, seed):
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        value = np.asarray(weight.numpy(), "float32")
        if "moving_variance" in weight.path:
            value = rng.uniform(0.5, 1.5, value.shape)
        elif value.ndim == 1:  # biases, batch-norm scale, offset and mean
            value = value + rng.normal(scale=0.1, size=value.shape)
        else:  # kernels: the initialiser's scale, so activations stay in range
            value = value * rng.uniform(0.5, 1.5, value.shape)
        values.append(value.astype("float32"))
    model.set_weights(values)


def write(folder):
    """Write this backend's files into folder/<backend>/; returns that folder."""
    import keras

    from asnet_keras.model.options import ASNetOptions

    backend = keras.backend.backend()
    images = np.load(os.path.join(folder, "images.npy"))
    options = ASNetOptions(input_size=SIZE, fixation_28=True)
    model = options.build()
    _randomise(model, seed=sum(map(ord, backend)))  # other weights for every backend
    out = os.path.join(folder, backend)
    os.makedirs(out, exist_ok=True)
    model.save_weights(os.path.join(out, "model.weights.h5"))
    model.save(os.path.join(out, "model.keras"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as file:
        json.dump(options.to_json(), file)
    np.savez(os.path.join(out, "outputs.npz"), *_outputs(model, images))
    return out


def read(folder):
    """{"<source backend>/<file>": largest |difference| of any output} for every other
    backend's files in `folder`."""
    import keras

    from asnet_keras.inference.loading import load_asnet

    backend = keras.backend.backend()
    images = np.load(os.path.join(folder, "images.npy"))
    report = {}
    for source in sorted(os.listdir(folder)):
        if source == backend or not os.path.isfile(os.path.join(folder, source, FILES[0])):
            continue
        saved = np.load(os.path.join(folder, source, "outputs.npz"))
        want = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        for name in FILES:
            got = _outputs(load_asnet(os.path.join(folder, source, name)), images)
            assert len(got) == len(want), (source, name, len(got), len(want))
            report[f"{source}/{name}"] = max(
                float(np.max(np.abs(g - w))) for g, w in zip(got, want, strict=True)
            )
            keras.backend.clear_session(free_memory=False)
    return report


def participate(folder, backends, timeout=900):
    """Steps 1–4 of the module docstring for this process's backend; the report dict."""
    import keras

    from asnet_keras.commands import predict

    backend = keras.backend.backend()
    seconds = {}
    start = time.perf_counter()
    try:
        write(folder)
    except BaseException:
        open(os.path.join(folder, f"{backend}.failed"), "w").close()  # the others stop
        raise
    open(os.path.join(folder, f"{backend}.written"), "w").close()
    seconds["write"] = time.perf_counter() - start
    deadline = time.monotonic() + timeout
    while not all(os.path.exists(os.path.join(folder, f"{b}.written")) for b in backends):
        failed = [b for b in backends if os.path.exists(os.path.join(folder, f"{b}.failed"))]
        if failed:
            raise RuntimeError(f"{backend}: writing under {failed} failed (see its output)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{backend}: the other backends did not write within {timeout} s")
        time.sleep(0.2)
    start = time.perf_counter()
    differences = read(folder)
    seconds["read"] = time.perf_counter() - start
    start = time.perf_counter()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = predict.main([
            os.path.join(folder, "inputs"), "--weights",
            os.path.join(folder, "tensorflow", "model.weights.h5"),
            "--out", os.path.join(folder, f"maps_{backend}"), "--quiet",
        ])
    seconds["predict"] = time.perf_counter() - start
    report = {"backend": backend, "differences": differences, "predict_status": status,
              "predict_stdout": stdout.getvalue(), "seconds": seconds}
    if backend != "tensorflow":
        start = time.perf_counter()
        report.update(fit_and_evaluate(folder, backend))
        seconds["fit_and_evaluate"] = time.perf_counter() - start
    return report


def fit_and_evaluate(folder, backend):
    """Step 5 of the module docstring."""
    from asnet_keras.commands import evaluate
    from asnet_keras.data.pipeline import training_dataset
    from asnet_keras.model.losses import compile_asnet
    from asnet_keras.model.options import ASNetOptions

    data = os.path.join(folder, "data")
    model = compile_asnet(ASNetOptions(input_size=SIZE).build())
    stream = training_dataset(data, ["synthetic-fix", "synthetic-sod", "synthetic-both"],
                              model.output_names, input_size=SIZE, batch_size=2, steps=2)
    before = model.get_weights()
    history = model.fit(stream, steps_per_epoch=2, epochs=1, verbose=0)
    changed = any(np.abs(a - b).max() > 0 for a, b in zip(before, model.get_weights(), strict=True))
    path = os.path.join(folder, f"fitted_{backend}.keras")
    model.save(path)
    out = os.path.join(folder, f"eval_{backend}")
    with contextlib.redirect_stdout(io.StringIO()):
        status = evaluate.main(["--weights", path, "--data", data, "--datasets",
                                "synthetic-both", "--limit", "2", "--n-splits", "2",
                                "--out", out, "--quiet"])
    results = None
    if status == 0:
        with open(os.path.join(out, "synthetic-both", "results.json"), encoding="utf-8") as f:
            results = json.load(f)
    return {"fit_losses": [float(v) for v in history.history["loss"]],
            "weights_changed": bool(changed), "evaluate_status": status,
            "evaluate_results": results}


def main(argv=None):
    folder, backends = (argv or sys.argv[1:])[:2]
    report = participate(folder, backends.split(","))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
