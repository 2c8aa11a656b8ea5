"""The same weights give the same outputs, losses and metric values as before the package
was reorganised: `tests/support/golden_values.json` was computed by the same code below
on the flat layout (commit 127ed3f) and must be reproduced exactly (to float32 rounding).

The model cases build with `keras.utils.set_random_seed(0)`, so they also catch a change
of build order (weight files match layers by class and creation order,
docs/framework_notes.md §4).
"""

import json
import os

import numpy as np
import pytest

GOLDEN = os.path.join(os.path.dirname(__file__), "support", "golden_values.json")
MODEL_CASES = {
    "full": {}, "wo_fixation": {"fixation_head": False}, "wo_convlstm": {"use_convlstm": False},
    "fixation_28": {"fixation_28": True}, "stock": {"recurrence": "stock"},
    "released": {"config": "released"},
}


def _summary(a):
    a = np.asarray(a, np.float64)
    return {"shape": list(a.shape), "mean": float(a.mean()), "std": float(a.std()),
            "first": [float(v) for v in a.reshape(-1)[:5]], "last": float(a.reshape(-1)[-1])}


def _close(expected, got, path=""):
    if isinstance(expected, dict):
        assert set(expected) == set(got), path
        for key in expected:
            _close(expected[key], got[key], f"{path}/{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(got), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            _close(e, g, f"{path}[{i}]")
    else:
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6), path


@pytest.fixture(scope="module")
def golden():
    with open(GOLDEN, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.slow
def test_model_outputs_are_unchanged(golden):
    import keras

    from asnet_keras import build_asnet

    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    for name, options in MODEL_CASES.items():
        keras.utils.set_random_seed(0)
        model = build_asnet((32, 32, 3), backbone_weights=None, **options)
        outputs = model.predict(x, verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        got = {n: _summary(v) for n, v in zip(model.output_names, outputs, strict=True)}
        _close(golden["model/" + name], got, name)
        assert model.count_params() == golden["model/" + name + "/params"]


def test_losses_are_unchanged(golden):
    from asnet_keras.model import losses as L

    rng = np.random.default_rng(0)
    rng.uniform(0, 255, (2, 32, 32, 3))  # the draw the model cases used first
    t = (rng.uniform(size=(2, 16, 16, 1)) > 0.5).astype("float32")
    p = rng.uniform(0.01, 0.99, size=(2, 16, 16, 1)).astype("float32")
    d = rng.uniform(size=(2, 16, 16, 1)).astype("float32")
    for fn in ("balanced_bce", "precision_loss", "recall_loss", "fmeasure_loss", "mae_loss",
               "saliency_loss"):
        _close(golden["loss/" + fn], [float(v) for v in np.asarray(getattr(L, fn)(t, p))], fn)
    _close(golden["loss/fixation_kl"], [float(v) for v in np.asarray(L.fixation_kl(d, p))])
    for variant in L.LOSS_VARIANTS:
        got = [float(v) for v in np.asarray(L.SaliencyLoss(variant).call(t, p))]
        _close(golden["loss/variant/" + variant], got, variant)


def test_metric_values_are_unchanged(golden, tmp_path):
    import cv2

    from asnet_keras.data.layout import samples
    from asnet_keras.evaluation.api import evaluate_pred_dir
    from data_prep.synthetic import make_synthetic

    root, pred = tmp_path / "data", tmp_path / "maps"
    pred.mkdir()
    make_synthetic(root, n=4, size=48, n_test=5)
    for i, sample in enumerate(samples(root, "synthetic-both", "test")):
        h, w = cv2.imread(sample.image).shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        blob = np.exp(-((yy - h / 2 - i) ** 2 + (xx - w / 2) ** 2) / (2 * (8 + i) ** 2))
        cv2.imwrite(str(pred / f"{sample.id}.png"), (255 * blob).astype(np.uint8))
    result = evaluate_pred_dir(pred, root, ["synthetic-both"], None, n_splits=5,
                               progress=False)["synthetic-both"]
    scalars = lambda section: {k: v for k, v in section.items() if isinstance(v, float)}  # noqa: E731
    _close(golden["eval/fixation"], scalars(result["fixation"]["maps"]), "fixation")
    _close(golden["eval/sod"], scalars(result["salient_object"]["maps"]), "sod")
