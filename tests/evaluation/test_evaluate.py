"""`asnet evaluate`: a model and a folder of maps scored end to end on a tiny
synthetic prepared set, checked against scores computed independently of the package
(the MIT loops and PySODMetrics on the maps read back from disk)."""

import json
import os

import cv2
import numpy as np
import pytest

from asnet_keras.data import layout as prepared
from asnet_keras.commands import evaluate as evaluate_cli
from asnet_keras.evaluation import api as evaluate
from asnet_keras.inference import images as inference
from asnet_keras.names import SYNTHETIC_DATASETS, SYNTHETIC_TEST_DATASET
from tests.support import reference_metrics as reference
from tests.support import reference_resize

DATASET = SYNTHETIC_TEST_DATASET
TRAINED_ON = list(SYNTHETIC_DATASETS)
N_SPLITS = 10


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from data_prep.synthetic import make_synthetic

    root = tmp_path_factory.mktemp("prepared")
    make_synthetic(root, n=6, size=48, n_test=6)
    return str(root)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A 'training run' folder: an untrained 32-px model with the 28×28 output, and a
    config.json naming its training datasets."""
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(7)
    folder = tmp_path_factory.mktemp("run")
    model = build_asnet((32, 32, 3), backbone_weights=None, fixation_28=True)
    model.save(folder / "best.keras")
    (folder / "config.json").write_text(json.dumps({"datasets": TRAINED_ON, "input_size": 32}))
    return str(folder)


@pytest.fixture(scope="module")
def evaluated(data_root, run_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("eval"))
    results = evaluate.evaluate_model(
        run_dir, data_root, [DATASET], out, batch_size=4, save_maps=True,
        all_outputs=True, n_splits=N_SPLITS, progress=False,
    )
    return out, results


def _independent_scores(data_root, maps_dir):
    """Every score of the test split worked out without `asnet_keras.metrics` or the
    evaluation code: the maps, fixation points, densities and masks read back from disk
    (the prepared layout of docs/datasets.md §10) with OpenCV, the fixation metrics as the
    MIT loops of tests/support/reference_metrics.py, the salient-object ones from
    PySODMetrics itself.

    The random parts follow their documented seeds: image i (in list.txt order) jitters
    AUC-Judd with (0, i, 0) and draws its sAUC splits with (0, i, 1) (FixationEvaluator);
    its other-fixations pool is every other image's fixations, since the split has 5 other
    images and evaluation pools up to 10 (docs/metrics.md §A.2), each fixation (y, x) of
    an H'×W' image marking (floor(y·H/H'), floor(x·W/W')) of this H×W one.

    Returns ({output: {metric: per-image list}}, {output: PySODMetrics' dataset scores},
    {output: [PySODMetrics' scores of each image alone]}).
    """
    split = os.path.join(data_root, DATASET, "test")
    with open(os.path.join(split, "list.txt"), encoding="utf-8") as f:
        ids = f.read().split()
    table = np.load(os.path.join(split, "fixations.npz"))
    table_ids = table["ids"].tolist()
    grey = lambda *parts: cv2.imread(os.path.join(*parts), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    fixation = {key: {m: [] for m in ("auc_judd", "sauc", "nss", "cc", "sim")}
                for key in ("fixation", "fixation_conv4")}
    pairs = {key: [] for key in ("saliency_conv1", "saliency_conv5")}
    for i, sample_id in enumerate(ids):
        fixated = grey(split, "fixpts", sample_id + ".png") > 0
        density = grey(split, "fixmaps", sample_id + ".png") / 255.0
        h, w = fixated.shape
        j = table_ids.index(sample_id)
        pool = np.zeros((h, w), bool)
        for image, y, x in zip(table["image_index"], table["y"], table["x"], strict=True):
            if image != j:
                rows, cols = table["height"][image], table["width"][image]
                pool[min(int(np.floor(y * h / rows)), h - 1),
                     min(int(np.floor(x * w / cols)), w - 1)] = True
        for key, scores in fixation.items():
            s = grey(maps_dir, key, sample_id + ".png") / 255.0
            scores["auc_judd"].append(reference.auc_judd_loop(s, fixated, jitter_seed=(0, i, 0)))
            scores["sauc"].append(reference.sauc_loop(s, fixated, pool, N_SPLITS, (0, i, 1)))
            scores["nss"].append(reference.nss_direct(s, fixated))
            scores["cc"].append(reference.cc_direct(s, density))
            scores["sim"].append(reference.sim_direct(s, density))
        for key, pair in pairs.items():
            pair.append((grey(maps_dir, key, sample_id + ".png"),
                         grey(split, "masks", sample_id + ".png")))
    return (fixation, {key: reference.pysod_reference(p) for key, p in pairs.items()},
            {key: [reference.pysod_reference([one]) for one in p] for key, p in pairs.items()})


def test_evaluate_model_writes_json_and_markdown_per_dataset(evaluated):
    out, results = evaluated
    for name in (DATASET,):
        assert os.path.isfile(os.path.join(out, name, "results.md"))
        with open(os.path.join(out, name, "results.json")) as f:
            saved = json.load(f)
        assert set(saved) == {"dataset", "split", "n_images", "source", "settings", "warnings",
                              "fixation", "salient_object"}
        assert saved["split"] == "test" and saved["n_images"] == 6
        assert saved["settings"]["upsampling"] == inference.UPSAMPLING
        assert saved["settings"]["input_size"] == 32
        assert saved["source"]["model_config"]["datasets"] == TRAINED_ON
    both = results[DATASET]
    assert set(both["fixation"]) == {"fixation", "fixation_conv4"}
    assert set(both["salient_object"]) == {f"saliency_conv{k}" for k in range(1, 6)}
    r = both["fixation"]["fixation"]
    assert len(r["per_image"]["nss"]) == 6 and r["nan_count"]["sauc"] == 0
    for name in ("summary.md", "pr_curves.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    summary = open(os.path.join(out, "summary.md")).read()
    assert "| AUC-J ↑ | SIM ↑ | s-AUC ↑ | CC ↑ | NSS ↑ |" in summary
    assert f"{both['salient_object']['saliency_conv1']['maxF']:.4f}" in summary
    assert "maxF_PR" in summary
    # trained-on note from the run's config.json
    assert any("training datasets" in w for w in both["warnings"])


def test_evaluate_model_equals_an_independent_computation(data_root, evaluated):
    out, results = evaluated
    fixation, sod, sod_alone = _independent_scores(data_root, os.path.join(out, DATASET, "maps"))
    got = results[DATASET]
    for key, scores in fixation.items():
        for metric, values in scores.items():
            assert all(np.isfinite(values)), (key, metric)  # the maps are not constant
            assert got["fixation"][key]["per_image"][metric] == pytest.approx(values, abs=1e-12)
            assert got["fixation"][key][metric] == pytest.approx(np.mean(values), abs=1e-12)
    for key, expected in sod.items():
        for metric in ("maxF", "meanF", "maxF_PR", "adpF", "MAE", "S", "maxE", "meanE", "adpE",
                       "wF"):
            assert got["salient_object"][key][metric] == pytest.approx(expected[metric],
                                                                       abs=1e-12), metric
        for metric in ("precision", "recall", "E"):
            np.testing.assert_allclose(got["salient_object"][key]["curves"][metric],
                                       expected[metric], rtol=0, atol=1e-12)
        for metric in ("MAE", "S", "adpF", "adpE", "wF"):
            assert got["salient_object"][key]["per_image"][metric] == pytest.approx(
                [alone[metric] for alone in sod_alone[key]], abs=1e-12)


def test_saved_maps_are_the_model_outputs_upsampled(data_root, run_dir, evaluated):
    """The maps scored are the network outputs for the antialiased 32-px input, bilinearly
    upsampled to the image size and rounded to uint8 (inputs and maps built here with
    OpenCV and numpy: tests/support/reference_resize.py)."""
    import keras

    out, _ = evaluated
    model = keras.models.load_model(os.path.join(run_dir, "best.keras"), compile=False)
    samples = prepared.samples(data_root, DATASET, "test")[:2]
    images = [cv2.imread(s.image)[:, :, ::-1] for s in samples]  # BGR → RGB
    batch = np.stack([reference_resize.model_input(im, 32) for im in images]).astype(np.float32)
    outputs = dict(zip(model.output_names, model.predict_on_batch(batch), strict=True))
    for i, (sample, image) in enumerate(zip(samples, images, strict=True)):
        h, w = image.shape[:2]
        for key in ("fixation", "saliency_conv1"):
            upsampled = cv2.resize(outputs[key][i, ..., 0], (w, h), interpolation=cv2.INTER_LINEAR)
            expected = np.rint(255 * np.clip(upsampled, 0, 1))
            saved = cv2.imread(os.path.join(out, DATASET, "maps", key, sample.id + ".png"),
                               cv2.IMREAD_GRAYSCALE)
            assert saved.shape == (h, w)
            assert np.abs(saved.astype(int) - expected.astype(int)).max() <= 1


def test_pred_dir_scores_equal_the_model_run(data_root, evaluated, tmp_path):
    out, results = evaluated
    maps = os.path.join(out, DATASET, "maps")
    sod = evaluate.evaluate_pred_dir(os.path.join(maps, "saliency_conv1"), data_root, [DATASET],
                                     str(tmp_path / "sod"), n_splits=N_SPLITS, progress=False)
    fix = evaluate.evaluate_pred_dir(os.path.join(maps, "fixation"), data_root, [DATASET],
                                     str(tmp_path / "fix"), n_splits=N_SPLITS, progress=False)
    model_sod = results[DATASET]["salient_object"]["saliency_conv1"]
    model_fix = results[DATASET]["fixation"]["fixation"]
    assert sod[DATASET]["salient_object"]["maps"]["per_image"] == model_sod["per_image"]
    assert sod[DATASET]["salient_object"]["maps"]["maxF"] == model_sod["maxF"]
    assert fix[DATASET]["fixation"]["maps"]["per_image"] == model_fix["per_image"]
    saved = json.load(open(tmp_path / "fix" / DATASET / "results.json"))
    assert saved["source"] == {"weights": None, "pred_dir": os.path.join(maps, "fixation"),
                               "model_config": None}
    assert set(saved["fixation"]) == {"maps"} and set(saved["salient_object"]) == {"maps"}


def test_cli_pred_dir_with_dataset_subfolders(data_root, evaluated, tmp_path, capsys):
    out, results = evaluated
    pred = tmp_path / "method"
    os.makedirs(pred / DATASET)
    for sample in prepared.samples(data_root, DATASET, "test"):
        src = os.path.join(out, DATASET, "maps", "saliency_conv1", sample.id + ".png")
        # as a 3-channel JPEG-free colour PNG: read back through its first channel
        grey = cv2.imread(src, cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(pred / DATASET / (sample.id + ".png")), cv2.merge([grey, grey, grey]))
    status = evaluate_cli.main(["--pred-dir", str(pred), "--data", data_root, "--datasets", DATASET,
                            "--out", str(tmp_path / "o"), "--n-splits", str(N_SPLITS), "--quiet"])
    assert status == 0
    assert "Salient object detection" in capsys.readouterr().out
    saved = json.load(open(tmp_path / "o" / DATASET / "results.json"))
    assert saved["salient_object"]["maps"]["MAE"] == pytest.approx(
        results[DATASET]["salient_object"]["saliency_conv1"]["MAE"], abs=1e-12)


def test_dataset_without_fixations_has_an_empty_fixation_section(data_root, evaluated, tmp_path):
    out, _ = evaluated
    pred = tmp_path / "maps"
    pred.mkdir()
    for sample in prepared.samples(data_root, "synthetic-sod", "val"):
        image = cv2.imread(sample.image, cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(pred / (sample.id + ".png")), image)
    r = evaluate.evaluate_pred_dir(str(pred), data_root, ["synthetic-sod"], str(tmp_path / "o"),
                                   split="val", progress=False)["synthetic-sod"]
    assert r["fixation"] == {} and r["salient_object"]["maps"]["n_images"] == 2
    assert "Fixation prediction" not in open(tmp_path / "o" / "synthetic-sod" / "results.md").read()


def test_missing_map_is_named(data_root, tmp_path):
    (tmp_path / "test_00000.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="test_00001.png"):
        evaluate.evaluate_pred_dir(str(tmp_path), data_root, [DATASET], progress=False)


def test_missing_dataset_names_the_data_prep_command(data_root, tmp_path, capsys):
    status = evaluate_cli.main(["--pred-dir", str(tmp_path), "--data", data_root,
                            "--datasets", "ecssd", "--out", str(tmp_path / "o")])
    assert status == 2
    err = capsys.readouterr().err
    assert "ecssd" in err and "asnet prepare ecssd" in err


def test_trained_on_warnings():
    assert any("TRAINED ON" in w for w in evaluate.training_warnings("dut-omron", "train", None))
    assert evaluate.training_warnings("ecssd", "test", {"datasets": "salicon,thus10k"}) == []
    config = {"datasets": ["salicon", "thus10k", "dut-omron"]}
    assert evaluate.training_warnings("dut-omron", "train", config)[0].startswith("TRAINED ON")


# ------------------------------------------------------------- --pred-dir checks
# docs/data_integrity.md §6


def test_map_size_rule():
    from asnet_keras.evaluation.pred_dir_checks import size_problem

    assert size_problem((48, 36), (48, 36)) is None
    assert size_problem((24, 18), (48, 36)) is None  # half size, same aspect
    assert size_problem((24, 17), (47, 35)) is None  # rounding of a half-size map
    assert size_problem((96, 72), (48, 36)) is None  # larger, same aspect
    assert size_problem((24, 12), (48, 36)) == (
        "aspect ratio differs: map 24×12 (H×W), ground truth 48×36")
    assert size_problem((12, 9), (48, 36)) == (
        "map 12×9 (H×W) is 4.0× smaller than its ground truth 48×36 (more than "
        "--max-map-shrink 2)")
    assert size_problem((12, 9), (48, 36), max_shrink=5) is None
    assert size_problem((12, 9), (48, 36), max_shrink=0) is None
    assert size_problem((14, 14), (300, 400)).startswith("aspect ratio differs")


def test_pred_dir_names_odd_maps_unrelated_files_and_missing_maps(data_root, evaluated,
                                                                  tmp_path, capsys):
    out, _ = evaluated
    samples = prepared.samples(data_root, DATASET, "test")
    pred = tmp_path / "method"
    pred.mkdir()
    source = os.path.join(out, DATASET, "maps", "saliency_conv1")
    maps = {}
    for sample in samples[1:]:  # the first image gets no map
        maps[sample.id] = cv2.imread(os.path.join(source, sample.id + ".png"),
                                     cv2.IMREAD_GRAYSCALE)
    odd = samples[2]
    h, w = maps[odd.id].shape
    maps[odd.id] = cv2.resize(maps[odd.id], (w // 3, h // 2), interpolation=cv2.INTER_AREA)
    for sample_id, array in maps.items():
        cv2.imwrite(str(pred / f"{sample_id}.png"), array)
    (pred / "notes.txt").write_text("how these maps were made")
    cv2.imwrite(str(pred / "val_00000.png"), maps[samples[1].id])  # an id of another split
    cv2.imwrite(str(pred / f"{samples[3].id}.jpg"), maps[samples[3].id])  # second map of an id
    argv = ["--pred-dir", str(pred), "--data", data_root, "--datasets", DATASET,
            "--out", str(tmp_path / "o"), "--n-splits", str(N_SPLITS), "--quiet"]

    # default: the missing map stops the evaluation, naming it and the way out
    assert evaluate_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{samples[0].id}.png" in err and "--allow-missing" in err

    assert evaluate_cli.main(argv + ["--allow-missing"]) == 0
    printed = capsys.readouterr()
    saved = json.load(open(tmp_path / "o" / DATASET / "results.json"))
    checks = saved["pred_dir_checks"]
    assert saved["n_images"] == len(samples) - 1
    assert checks["missing_maps"] == {"count": 1, "ids": [samples[0].id]}
    truth = cv2.imread(odd.mask, cv2.IMREAD_GRAYSCALE).shape
    assert checks["size_mismatches"]["maps"] == [{
        "file": f"{odd.id}.png", "id": odd.id, "map_hw": [h // 2, w // 3],
        "ground_truth_hw": list(truth),
        "reason": f"aspect ratio differs: map {h // 2}×{w // 3} (H×W), ground truth "
                  f"{truth[0]}×{truth[1]}",
    }]
    assert checks["ignored_files"]["files"] == [
        {"file": "notes.txt", "reason": "not a map file type (.txt; maps are .png, .jpg, "
                                        ".jpeg, .bmp, .tif, .tiff)"},
        {"file": f"{samples[3].id}.jpg",
         "reason": f"a second map of id '{samples[3].id}'; {samples[3].id}.png is scored"},
        {"file": "val_00000.png", "reason": f"matches no image id of {DATASET}/test"},
    ]
    # named in the printed summary (stdout) and as console warnings (stderr)
    for stream in (printed.out, printed.err):
        for name in (f"{odd.id}.png", "notes.txt", "val_00000.png", samples[0].id):
            assert name in stream, name
    assert "1 of 6 images have no map" in printed.out
    # the odd map is still scored by the documented convention: resized to its mask's size
    # bilinearly on the uint8 map (docs/metrics.md §B.0), then as PySODMetrics scores it
    pairs = []
    for sample in samples[1:]:
        mask = cv2.imread(sample.mask, cv2.IMREAD_GRAYSCALE)
        pred = cv2.resize(maps[sample.id], mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
        pairs.append((pred, mask))
    expected = reference.pysod_reference(pairs)
    assert saved["salient_object"]["maps"]["MAE"] == pytest.approx(expected["MAE"], abs=1e-12)
    assert saved["salient_object"]["maps"]["maxF"] == pytest.approx(expected["maxF"], abs=1e-12)
