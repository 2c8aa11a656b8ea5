"""`asnet export --format saved_model|onnx|openvino|litert`: each artefact,
written from a 64-px model, runs in its own runtime in a fresh process with the Keras
model's outputs (≤ 1e-4), named, for any batch size; `predict` takes the ONNX and
OpenVINO artefacts and writes the Keras model's maps; broken or foreign files are refused
by name."""

import contextlib
import io
import json
import os

import cv2
import numpy as np
import pytest

from asnet_keras.commands import export, predict
from asnet_keras.export import contract, runtimes
from tests.support.helpers import run_fresh_python

# Writing artefacts goes through TensorFlow's converters (docs/deployment.md §1); under
# another Keras backend (make test-jax) the export refuses with a message instead.
pytestmark = pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="exporting deployment artefacts needs KERAS_BACKEND=tensorflow",
)

SIZE = 64
OUTS = {"saved_model": "asnet_savedmodel", "onnx": "asnet.onnx", "openvino": "asnet.xml",
        "litert": "asnet.tflite"}

# Runs each artefact with nothing but its runtime's own API (no asnet_keras on the path),
# on a batch of 3 (the export's check used 2), and saves every output under its name.
_RAW_RUNTIMES = """
import json, sys
import numpy as np
images = np.load("images.npy")
found = {}

import tensorflow as tf
loaded = tf.saved_model.load("asnet_savedmodel")
signature = loaded.signatures["serving_default"]
found["saved_model"] = {k: v.numpy() for k, v in signature(image=tf.constant(images)).items()}
found["saved_model_inputs"] = list(signature.structured_input_signature[1])

import onnxruntime
session = onnxruntime.InferenceSession("asnet.onnx", providers=["CPUExecutionProvider"])
names = [o.name for o in session.get_outputs()]
found["onnx"] = dict(zip(names, session.run(None, {"image": images})))
found["onnx_batch_dim"] = session.get_inputs()[0].shape[0]

import openvino
compiled = openvino.Core().compile_model("asnet.xml", "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
result = compiled({"image": images})
found["openvino"] = {o.get_any_name(): np.array(result[o]) for o in compiled.outputs}
found["openvino_names"] = [o.get_any_name() for o in compiled.outputs]

from ai_edge_litert.interpreter import Interpreter
runner = Interpreter(model_path="asnet.tflite").get_signature_runner("serving_default")
found["litert"] = {k: np.array(v) for k, v in runner(image=images).items()}

arrays = {f"{fmt}/{name}": value for fmt in ("saved_model", "onnx", "openvino", "litert")
          for name, value in found[fmt].items()}
np.savez("raw.npz", **arrays)
print(json.dumps({"saved_model_inputs": found["saved_model_inputs"],
                  "onnx_batch_dim": found["onnx_batch_dim"],
                  "onnx_names": names, "openvino_names": found["openvino_names"]}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A random-weight 64-px ASNet (weights file + config.json), its Keras outputs, and
    the four artefacts written by the command line (each checked there)."""
    from asnet_keras.model import build_asnet

    folder = tmp_path_factory.mktemp("formats")
    model = build_asnet((SIZE, SIZE, 3), backbone_weights=None)
    rng = np.random.default_rng(0)
    model.set_weights(
        [w * rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.get_weights()]
    )
    model.save_weights(folder / "model.weights.h5")
    model.save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({"input_size": SIZE}))
    images = rng.uniform(0, 255, (3, SIZE, SIZE, 3)).astype("float32")
    expected = dict(zip(model.output_names, [np.asarray(o) for o in model(images)], strict=True))
    printed = {}
    for fmt, name in OUTS.items():
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            status = export.main(["--weights", str(folder / "model.weights.h5"), "--format",
                                  fmt, "--out", str(folder / name)])
        assert status == 0, stdout.getvalue()
        printed[fmt] = stdout.getvalue()
    return folder, images, expected, list(model.output_names), printed


@pytest.mark.slow
def test_every_format_matches_keras_in_its_own_runtime_in_a_fresh_process(exported):
    folder, images, expected, names, printed = exported
    for fmt, text in printed.items():
        # The export's own check (a fresh process through asnet_keras.export.runtimes).
        line = next(li for li in text.splitlines() if "largest output difference" in li)
        assert float(line.split("largest output difference ")[1].split(";")[0]) <= 1e-4
        assert all(name in line for name in names), line

    # Independently: each runtime's own API, no asnet_keras, another batch size.
    np.save(folder / "images.npy", images)
    result = run_fresh_python(_RAW_RUNTIMES, cwd=folder, timeout=600)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["saved_model_inputs"] == ["image"]  # TF Serving: serving_default(image=…)
    assert not isinstance(info["onnx_batch_dim"], int)  # a free batch dimension
    assert info["onnx_names"] == names and info["openvino_names"] == names  # named, in order
    raw = np.load(folder / "raw.npz")
    for fmt in OUTS:
        got = {key.split("/", 1)[1]: raw[key] for key in raw.files if key.startswith(fmt + "/")}
        assert sorted(got) == sorted(names), fmt
        for name in names:
            assert got[name].shape == expected[name].shape, (fmt, name)
            difference = np.abs(got[name] - expected[name]).max()
            assert difference <= 1e-4, (fmt, name, difference)


@pytest.mark.slow
def test_artifacts_carry_the_options_and_the_runtime_wrapper_matches_keras(exported):
    folder, images, expected, names, _ = exported
    for fmt, name in OUTS.items():
        model = runtimes.open_artifact(folder / name)
        assert model.format == fmt and model.output_names == names
        assert model.inputs[0].shape == (None, SIZE, SIZE, 3)
        for got, want in zip(model.predict_on_batch(images[:1]), expected.values(), strict=True):
            np.testing.assert_allclose(got, want[:1], atol=1e-5, rtol=0)
        if fmt in ("onnx", "openvino"):
            options = json.loads(model.metadata[contract.METADATA_KEY])
            assert options["input_size"] == SIZE and options["config"] == "paper"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_predict_with_an_artifact_writes_the_keras_models_maps(exported, fmt, tmp_path):
    folder, _, _, _, _ = exported
    rng = np.random.default_rng(1)
    images = tmp_path / "in"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), rng.integers(0, 256, (50, 70, 3), dtype=np.uint8))
    cv2.imwrite(str(images / "b.jpg"), rng.integers(0, 256, (80, 64, 3), dtype=np.uint8))
    maps = {}
    for kind, weights in (("keras", folder / "model.keras"), (fmt, folder / OUTS[fmt])):
        out = tmp_path / kind
        assert predict.main([str(images), "--weights", str(weights), "--out", str(out),
                             "--quiet"]) == 0
        maps[kind] = {f"{sub}/{stem}": cv2.imread(str(out / sub / f"{stem}.png"),
                                                  cv2.IMREAD_UNCHANGED)
                      for sub in ("saliency", "fixation") for stem in ("a", "b")}
    for key, want in maps["keras"].items():
        got = maps[fmt][key]
        assert got.shape == want.shape and got.dtype == np.uint8
        # Outputs agree within ~1e-7, so uint8 maps are equal but for a rare x.5 rounding.
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, key
        assert (got == want).mean() > 0.999, key
    if fmt == "openvino":  # bfloat16 (float32 on a CPU without it): close, not equal
        out = tmp_path / "bf16"
        assert predict.main([str(images), "--weights", str(folder / OUTS[fmt]), "--out",
                             str(out), "--precision", "bf16", "--quiet"]) == 0
        for key, want in maps["keras"].items():
            got = cv2.imread(str(out / f"{key}.png"), cv2.IMREAD_UNCHANGED)
            assert np.abs(got.astype(int) - want.astype(int)).max() <= 3, key


def _foreign_onnx(path):
    """A valid ONNX model that is not ASNet: y = x for x of shape (1, 10)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_broken_and_foreign_artifacts_are_refused_by_name(tmp_path, capsys):
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07 this is not a protobuf of a model" * 10)
    _foreign_onnx(tmp_path / "other.onnx")
    (tmp_path / "nobin.xml").write_text("<net name='x'></net>")
    (tmp_path / "garbage.xml").write_text("not xml at all <<<")
    (tmp_path / "garbage.bin").write_bytes(b"\0" * 16)
    (tmp_path / "broken.tflite").write_bytes(b"TFL3 but truncated")
    expected = {
        "broken.onnx": "cannot be read as onnx",
        "other.onnx": "not an ASNet artefact",
        "nobin.xml": "nobin.bin is missing",
        "garbage.xml": "cannot be read as openvino",
        "broken.tflite": "cannot be read as litert",
    }
    for name, message in expected.items():
        status = predict.main([str(image), "--weights", str(tmp_path / name),
                               "--out", str(tmp_path / "o"), "--quiet"])
        err = capsys.readouterr().err
        assert status == 2, (name, err)
        assert name in err and message in err, err
        assert contract.EXPORT_COMMAND + " --weights" in err or "copy both" in err, err
        assert len(err) < 1500
    with pytest.raises(runtimes.ArtifactError, match="no 'saliency_conv1' output|input has shape"):
        runtimes.open_artifact(tmp_path / "other.onnx")
    # bfloat16 is an OpenVINO setting: refused for anything else, before any loading.
    assert predict.main([str(image), "--weights", str(tmp_path / "other.onnx"), "--out",
                         str(tmp_path / "o"), "--precision", "bf16", "--quiet"]) == 2
    assert "OpenVINO artefacts (.xml) only" in capsys.readouterr().err


def test_format_is_taken_from_the_name_and_mismatches_are_usage_errors(tmp_path, capsys):
    assert contract.format_for("m.keras") == "keras"
    assert contract.format_for("m.h5") == "h5"
    assert contract.format_for("m.onnx") == "onnx"
    assert contract.format_for("m.xml") == "openvino"
    assert contract.format_for("m.tflite") == "litert"
    assert contract.format_for("served", "saved_model") == "saved_model"
    for out, fmt, words in (("served", None, "cannot tell the format"),
                            ("m.keras", "onnx", ".onnx file"),
                            ("m.onnx", "saved_model", "is a folder"),
                            ("m.weights.h5", "h5", "holds no network"),
                            ("m.weights.h5", None, "holds no network")):
        with pytest.raises(ValueError, match=words):
            contract.format_for(out, fmt)
    assert export.main(["--weights", "w.weights.h5", "--format", "openvino", "--out",
                        str(tmp_path / "m.onnx")]) == 2
    assert ".xml" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
