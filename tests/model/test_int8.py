"""`export --format openvino --int8`: NNCF quantization on calibration images, the accuracy
check on held-out images that decides whether the IR is written, the JSON beside it,
and running the INT8 IR (docs/deployment.md §6). The slow tests export a random-weight
64-px ASNet on the synthetic data (`python -m data_prep synthetic`)."""

import contextlib
import hashlib
import io
import json
import math
import os
import shutil

import cv2
import numpy as np
import pytest

from asnet_keras.commands import export, predict
from asnet_keras.export import int8
from asnet_keras.parameters import ParameterError
from data_prep.synthetic import make_synthetic

pytestmark = pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="exporting deployment artefacts needs KERAS_BACKEND=tensorflow",
)

SIZE = 64
N_TRAIN, N_TEST = 16, 8
MEASURES = ("maxF", "meanF", "adpF", "maxF_PR", "MAE", "S", "maxE", "meanE", "adpE", "wF")


def run_export(*argv):
    """export.main(argv) → (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = export.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def export_int8(folder, data, out, max_change):
    """`asnet export --int8` of folder/model.weights.h5, calibrated on synthetic-both
    train and checked on its test split; (status, stdout, stderr)."""
    return run_export("--weights", folder / "model.weights.h5", "--format", "openvino",
                      "--int8", "--calibration", f"{data}/synthetic-both:train",
                      "--max-measure-change", max_change, "--out", out)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Synthetic prepared data: 16 training and 8 test images of synthetic-both (64 px)."""
    root = tmp_path_factory.mktemp("int8_data")
    make_synthetic(root, n=N_TRAIN, size=SIZE, n_test=N_TEST)
    return root


def test_image_sets_are_a_folder_or_a_prepared_split_and_bad_ones_name_the_flag(data, tmp_path):
    split = int8.parse_image_set(f"{data}/synthetic-both:train", "calibration")
    assert split.prepared and (split.dataset, split.split) == ("synthetic-both", "train")
    assert [i for i, _ in split.items()] == [f"train_{k:05d}" for k in range(N_TRAIN)]
    folder = int8.parse_image_set(data / "synthetic-both" / "test" / "images", "calibration")
    assert not folder.prepared and len(folder.items()) == N_TEST
    assert folder.items()[0][0] == "test_00000.jpg"
    (tmp_path / "empty").mkdir()
    bad = {f"{data}/synthetic-both": "name a split, e.g. " + f"{data}/synthetic-both:test",
           f"{data}/synthetic-both:holdout": "no prepared split 'holdout'",
           str(tmp_path / "nowhere"): "no such folder",
           str(tmp_path / "empty"): "holds no image files"}
    for spec, message in bad.items():
        with pytest.raises(ParameterError) as caught:
            int8.parse_image_set(spec, "held_out")
        assert "--held-out" in str(caught.value) and message in str(caught.value), caught.value


def test_calibration_images_are_spread_evenly_and_hashed_by_content(data):
    # 16 images, 5 wanted: positions ⌊i·16/5⌋ = 0, 3, 6, 9, 12.
    items = [(str(i), f"p{i}") for i in range(16)]
    assert [i for i, _ in int8.evenly_spaced(items, 5)] == ["0", "3", "6", "9", "12"]
    assert int8.evenly_spaced(items, 40) == items
    chosen = int8.parse_image_set(f"{data}/synthetic-both:train", "calibration").items()[:2]
    digests = int8.image_digests(chosen)
    lines = sorted(f"{i} {hashlib.sha256(open(p, 'rb').read()).hexdigest()}\n" for i, p in chosen)
    assert int8.set_digest(digests) == hashlib.sha256("".join(lines).encode()).hexdigest()


def test_the_held_out_split_defaults_to_test_and_must_be_disjoint_with_masks(data, tmp_path):
    from asnet_keras.evaluation import quantized

    calibration = int8.parse_image_set(f"{data}/synthetic-both:train", "calibration")
    held = quantized.default_held_out(calibration)
    assert (held.dataset, held.split) == ("synthetic-both", "test")
    quantized.check_held_out(held, calibration, None)
    with pytest.raises(ParameterError, match="calibration split itself"):
        quantized.check_held_out(calibration, calibration, None)
    fixations_only = int8.parse_image_set(f"{data}/synthetic-fix:val", "held_out")
    with pytest.raises(ParameterError, match="no masks"):
        quantized.check_held_out(fixations_only, calibration, None)
    folder = int8.parse_image_set(data / "synthetic-both" / "test" / "images", "calibration")
    with pytest.raises(ParameterError, match="--held-out"):
        quantized.default_held_out(folder)
    with pytest.raises(ParameterError, match="prepared dataset with masks"):
        quantized.check_held_out(folder, calibration, None)
    # The same bytes under another name are the same image.
    copies = tmp_path / "copies"
    copies.mkdir()
    shutil.copy(held.items()[3][1], copies / "renamed.jpg")
    calibration_digests = int8.image_digests(int8.parse_image_set(copies, "calibration").items())
    with pytest.raises(ParameterError, match="1 of its images are also calibration images"):
        quantized.refuse_overlap(int8.image_digests(held.items()), calibration_digests, held)


def test_the_check_fails_a_measure_that_moves_more_than_allowed():
    from asnet_keras.evaluation import quantized

    reference = {"salient_object": {m: 0.5 for m in MEASURES}}
    moved = {"salient_object": {**{m: 0.5 for m in MEASURES}, "maxF": 0.506, "MAE": 0.496,
                                "S": float("nan")}}
    result = quantized.compare(reference, moved, 0.005)
    # maxF +0.006 > 0.005 fails, MAE −0.004 passes, a NaN always fails.
    assert result["failed"] == ["maxF", "S"]
    assert result["changes"]["MAE"] == pytest.approx(-0.004)
    assert result["largest_change"] == {"measure": "maxF", "value": pytest.approx(0.006)}
    table = quantized.measures_table({"max_change": 0.005, "float32": reference, "int8": moved,
                                      **result})
    assert "| maxF | 0.5000 | 0.5060 | +0.0060 | no |" in table
    assert "| MAE | 0.5000 | 0.4960 | −0.0040 | yes |" in table


def test_int8_flags_are_checked_before_anything_is_loaded(tmp_path):
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"not read")
    cases = {
        ("--out", tmp_path / "a.xml", "--calibration", tmp_path): "only apply with --int8",
        ("--out", tmp_path / "a.onnx", "--int8", "--calibration", tmp_path): "OpenVINO IR",
        ("--out", tmp_path / "a.xml", "--int8"): "--int8 needs --calibration",
    }
    for flags, message in cases.items():
        status, _, err = run_export("--weights", weights, *flags)
        assert status == 2 and message in err, err


def test_an_unreadable_calibration_image_is_refused_before_anything_is_exported(data, tmp_path):
    images = tmp_path / "calibration"
    images.mkdir()
    source = data / "synthetic-both" / "train" / "images" / "train_00000.jpg"
    shutil.copy(source, images / "a.jpg")
    (images / "b.jpg").write_bytes(source.read_bytes()[:300])  # cut in its first scan
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"never read: the calibration images are checked first")
    status, _, err = run_export("--weights", weights, "--format", "openvino", "--int8",
                                "--calibration", images, "--held-out",
                                f"{data}/synthetic-both:test", "--out", tmp_path / "o.xml")
    assert status == 2 and f"--calibration: {images / 'b.jpg'}" in err and "truncated" in err
    assert not (tmp_path / "o.xml").exists()


@pytest.fixture(scope="module")
def quantized_export(data, tmp_path_factory):
    """A random-weight 64-px ASNet exported with --int8 (calibrated on synthetic-both
    train, checked on its test split) under a threshold every change meets."""
    from asnet_keras.model import build_asnet

    folder = tmp_path_factory.mktemp("int8")
    model = build_asnet((SIZE, SIZE, 3), backbone_weights=None)
    rng = np.random.default_rng(0)
    model.set_weights(
        [w * rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.get_weights()])
    model.save_weights(folder / "model.weights.h5")
    (folder / "config.json").write_text(json.dumps({"input_size": SIZE}))
    out = folder / "out" / "asnet_int8.xml"
    status, stdout, stderr = export_int8(folder, data, out, 1)
    assert status == 0, stderr
    return folder, out, json.loads((folder / "out" / "asnet_int8.json").read_text()), stdout


@pytest.mark.slow
def test_the_json_beside_the_int8_ir_records_calibration_settings_and_measures(
        quantized_export, data):
    folder, out, report, stdout = quantized_export
    assert out.is_file() and out.with_suffix(".bin").is_file()
    assert report["quantization"] == "int8" and report["options"]["input_size"] == SIZE
    calibration = report["calibration"]
    assert calibration["n_images"] == N_TRAIN and calibration["split"] == "train"
    assert calibration["ids"] == [f"train_{k:05d}" for k in range(N_TRAIN)]
    items = int8.parse_image_set(f"{data}/synthetic-both:train", "calibration").items()
    assert calibration["sha256"] == int8.set_digest(int8.image_digests(items))
    nncf = report["nncf"]
    assert nncf["nncf_version"] and nncf["subset_size"] == N_TRAIN
    # Five ConvLSTMs, T = 3: step 1 has 2 products, steps 2 and 3 have 4 gate sums,
    # 3 products and 1 sum each: 5 × (2 + 2 × 8) = 90 nodes left in floating point.
    assert nncf["ignored_scope"]["n_nodes"] == 90
    assert report["graph_rewrites"] == {"gate_convolutions": 15, "upsampling_interpolate": 4}
    check = report["accuracy_check"]
    assert check["held_out"]["split"] == "test" and check["int8"]["n_images"] == N_TEST
    assert check["passed"] and check["max_change"] == 1.0 and check["failed"] == []
    for measure in MEASURES:
        before, after = (check[k]["salient_object"][measure] for k in ("float32", "int8"))
        assert math.isfinite(before) and math.isfinite(after), measure
        assert check["changes"][measure] == pytest.approx(after - before, abs=1e-12)
    assert check["float32_precision"] == "f32"
    assert check["table"] in stdout and "wrote" in stdout


@pytest.mark.slow
def test_a_too_strict_threshold_refuses_and_writes_nothing(quantized_export, data):
    folder, _, _, _ = quantized_export
    out = folder / "strict" / "asnet_int8.xml"
    status, stdout, stderr = export_int8(folder, data, out, 0)
    assert status == 1, stderr
    assert "was not written" in stderr and "--max-measure-change" in stderr
    assert "| measure | float32 | INT8 | change | within ±0 |" in stdout
    assert stdout.count("| no |") >= 1
    assert not (folder / "strict").exists() or os.listdir(folder / "strict") == []


@pytest.mark.slow
def test_predict_runs_the_int8_ir_at_image_size_with_the_measures_the_json_recorded(
        quantized_export, data, tmp_path):
    from asnet_keras.evaluation.api import evaluate_pred_dir
    from asnet_keras.export.runtimes import open_artifact

    _, out, report, _ = quantized_export
    images = data / "synthetic-both" / "test" / "images"
    assert predict.main([str(images), "--weights", str(out), "--out", str(tmp_path / "maps"),
                         "--quiet"]) == 0
    for image in images.iterdir():
        written = cv2.imread(str(tmp_path / "maps" / "saliency" / (image.stem + ".png")),
                             cv2.IMREAD_UNCHANGED)
        assert written.shape == cv2.imread(str(image)).shape[:2], image.name
    rescored = evaluate_pred_dir(tmp_path / "maps" / "saliency", data, ["synthetic-both"],
                                 progress=False)["synthetic-both"]["salient_object"]["maps"]
    recorded = report["accuracy_check"]["int8"]["salient_object"]
    assert {m: rescored[m] for m in MEASURES} == pytest.approx(recorded, abs=1e-12, rel=0)
    model = open_artifact(out)
    assert model.quantized and model.precision == report["inference_precision"]["checked_with"]


@pytest.mark.slow
def test_the_service_runs_the_int8_ir_at_the_precision_it_was_checked_with(
        quantized_export, data, tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx2")
    from fastapi.testclient import TestClient

    from asnet_keras.export.runtimes import open_model
    from asnet_keras.serving.app import create_app

    _, out, report, _ = quantized_export
    image = data / "synthetic-both" / "test" / "images" / "test_00003.jpg"
    assert predict.main([str(image), "--weights", str(out), "--out", str(tmp_path), "--quiet"]) == 0
    written = cv2.imread(str(tmp_path / "saliency" / "test_00003.png"), cv2.IMREAD_UNCHANGED)
    app = create_app(open_model(str(out)), weights=str(out))  # serve's default: auto
    with TestClient(app, base_url="http://127.0.0.1") as client:
        info = client.get("/info").json()
        response = client.post("/predict", files={"image": ("a.jpg", image.read_bytes(),
                                                            "image/jpeg")})
    assert response.status_code == 200, response.text
    served = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert info["backend"] == "openvino"
    assert info["precision"] == report["inference_precision"]["checked_with"]
    np.testing.assert_array_equal(served, written)


@pytest.mark.slow
def test_int8_maps_stay_close_to_float32_with_zero_gate_biases(quantized_export, data):
    """The random model's i, c and o gate biases are all zeros, the case where a shared
    INT8 input part was miscomputed (docs/deployment.md §6.3): every map came out 0.5."""
    from asnet_keras.export.formats import export_artifact
    from asnet_keras.export.runtimes import open_artifact
    from asnet_keras.inference.images import resize_to_input
    from asnet_keras.io import read_image

    folder, out, _, _ = quantized_export
    export_artifact(folder / "model.weights.h5", folder / "float32.xml", "openvino",
                    check=False)
    items = int8.parse_image_set(f"{data}/synthetic-both:test", "held_out").items()
    x = np.stack([resize_to_input(read_image(path), SIZE) for _, path in items])
    reference = open_artifact(folder / "float32.xml").predict_on_batch(x)[-1]
    got = open_artifact(out).predict_on_batch(x)[-1]
    assert reference.std() > 0.01
    assert got.std() > 0.5 * reference.std()
    assert np.abs(got - reference).mean() < 0.01


@pytest.mark.slow
def test_the_cpu_rewrites_remove_gate_splits_and_tiles_and_change_no_output(tmp_path):
    import collections

    import openvino

    from asnet_keras.export import formats
    from asnet_keras.export.contract import check_images
    from asnet_keras.model import build_asnet

    # ASNet-28×28: six ConvLSTMs (T = 3) and five ×2 upsamplings (four ⊕ Q, one ⊕ P).
    model = build_asnet((SIZE, SIZE, 3), backbone_weights=None, fixation_28=True)
    rng = np.random.default_rng(2)
    model.set_weights([w * rng.uniform(0.5, 1.5, w.shape).astype("float32") + (
        rng.uniform(-0.2, 0.2, w.shape).astype("float32") if w.ndim == 1 else 0)
        for w in model.get_weights()])
    core, outputs, kinds = openvino.Core(), {}, {}
    for optimise in (False, True):
        path = tmp_path / f"optimise_{optimise}.xml"
        rewrites = formats.write_openvino(model, path, {"input_size": SIZE}, optimise=optimise)
        network = core.read_model(path)
        kinds[optimise] = collections.Counter(
            op.get_type_name() + ("×4" if op.get_type_name() == "Split"
                                  and len(op.outputs()) == 4 else "")
            for op in network.get_ordered_ops())
        compiled = core.compile_model(network, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        result = compiled(check_images(SIZE))
        outputs[optimise] = [np.asarray(result[o]) for o in compiled.outputs]
    assert rewrites == {"gate_convolutions": 18, "upsampling_interpolate": 5}
    assert kinds[False]["Split×4"] == 18 and kinds[False]["Tile"] > 0
    assert kinds[True]["Split×4"] == 0 and kinds[True]["Tile"] == 0
    assert kinds[True]["Interpolate"] == 5
    # Each of the 6 layers: 4 input convolutions + 2 steps × 4 state convolutions.
    assert kinds[True]["Convolution"] - kinds[False]["Convolution"] == 6 * (12 - 3)
    for before, after in zip(*outputs.values(), strict=True):
        assert np.abs(after - before).max() <= 1e-6
