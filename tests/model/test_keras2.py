"""`--format keras2`: a Keras 2 `.h5` model that `tf_keras` loads in one line, in a fresh
process without asnet_keras, giving every output of the Keras 3 model (≤ 1e-5) — for the
paper network with and without ASNet-28×28, the two Table 5 ablations that change the
graph, and the released network (docs/deployment.md §5)."""

import importlib.util
import json

import h5py
import numpy as np
import pytest

from asnet_keras.commands import export
from asnet_keras.export import keras2
from asnet_keras.export.formats import FormatUnavailable
from asnet_keras.model.options import ASNetOptions
from tests.support.export_runs import load_elsewhere, outputs_of, write_run
from tests.support.released_table import KERAS2_LAYER_NAMES

SIZE = 32
VARIANTS = {
    "paper": {},
    "paper_28": {"fixation_28": True},
    "wo_fixation": {"fixation_head": False},
    "wo_convlstm": {"use_convlstm": False},
    "released": {"config": "released"},
}
HAS_TF_KERAS = all(importlib.util.find_spec(m) for m in ("tf_keras", "tensorflow"))
needs_tf_keras = pytest.mark.skipif(
    not HAS_TF_KERAS, reason=f"needs tf_keras: pip install --no-deps {keras2.KERAS2_PACKAGE}")

# Loads every file with nothing but tf_keras, as a Keras 2 user would, on a batch of 3
# (the export's own check used 2), and saves the outputs and Keras 2's layer order.
_LOAD_IN_TF_KERAS = """
import json
import numpy as np
import tf_keras
images = np.load("images.npy")
order = {}
for name in json.load(open("files.json")):
    model = tf_keras.models.load_model(name, compile=False)
    outputs = model.predict_on_batch(images)
    np.savez(name + ".npz", **dict(zip(model.output_names, outputs)))
    order[name] = [layer.name for layer in model.layers]
json.dump(order, open("order.json", "w"))
"""


def test_layer_order_reproduces_the_authors_keras2_file():
    """Keras 2's `model.layers` order of the authors' released graph (docs/released_model.md
    §2.3: its 75 layers and their inputs) is §5.3's list, name for name."""
    inbound = {"input_1": [], "input_2": [], "learning_prior_1": ["input_2"]}
    previous = "input_1"
    for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
        for conv in range(1, convs + 1):
            inbound[f"block{block}_conv{conv}"] = [previous]
            previous = f"block{block}_conv{conv}"
        if block < 5:
            inbound[f"block{block}_pool"] = [previous]
            previous = f"block{block}_pool"

    def sequence(source, n, lstm):  # Flatten → RepeatVector(3) → Reshape → ConvLSTM
        inbound.update({f"flatten_{n}": [source], f"repeat_vector_{n}": [f"flatten_{n}"],
                        f"reshape_{n}": [f"repeat_vector_{n}"], lstm: [f"reshape_{n}"]})

    sequence("block5_conv3", 1, "conv5_lstm1")
    inbound.update({"concatenate_1": ["conv5_lstm1", "learning_prior_1"],
                    "merge_att_conv5": ["concatenate_1"], "att_conv5": ["merge_att_conv5"],
                    "s_conv_5": ["block5_conv3"], "s_saliency_conv_5": ["s_conv_5"],
                    "concatenate_2": ["s_conv_5", "att_conv5"]})
    sequence("concatenate_2", 2, "conv5_lstm2")
    inbound["sal_conv5"] = ["conv5_lstm2"]
    lstms = {4: "conv4_lstm2", 3: "conv3_lstm", 2: "conv2_lstm", 1: "conv1_lstm"}
    for i, k in enumerate((4, 3, 2, 1), start=1):
        feature = f"block{k}_conv{3 if k >= 3 else 2}"
        inbound.update({f"conv_{k}_out": [feature],
                        f"batch_normalization_{i}": [f"conv_{k}_out"],
                        f"activation_{i}": [f"batch_normalization_{i}"],
                        f"up_sampling2d_{i}": [f"sal_conv{k + 1}"],
                        f"concatenate_{i + 2}": [f"activation_{i}", f"up_sampling2d_{i}"]})
        sequence(f"concatenate_{i + 2}", i + 2, lstms[k])
        inbound[f"sal_conv{k}"] = [lstms[k]]
    outputs = ["att_conv5", "s_saliency_conv_5", "sal_conv5", "sal_conv4", "sal_conv3",
               "sal_conv2", "sal_conv1"]
    assert len(inbound) == 75
    assert keras2.keras2_layer_order(inbound, outputs) == KERAS2_LAYER_NAMES


def test_layer_order_by_hand():
    # a → b, a → c, (b, c) → d. From outputs [d, c]: first reached d, b, a, c; depths
    # d 0, b 1, c 1, a 2 → a, b, c, d. From [c, d]: c, a, d, b → a, c, b, d.
    inbound = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert keras2.keras2_layer_order(inbound, ["d", "c"]) == ["a", "b", "c", "d"]
    assert keras2.keras2_layer_order(inbound, ["c", "d"]) == ["a", "c", "b", "d"]


def _attribute(group, name):
    return [v.decode("utf8") for v in group.attrs[name]]


def test_file_is_laid_out_as_keras2_writes_it(tmp_path):
    """docs/released_model.md §5.1–§5.2 and Keras 2's config keys, read back with h5py."""
    from asnet_keras.export.builtin import builtin_graph

    weights, source = write_run(tmp_path / "run", fixation_28=True)
    model, _ = builtin_graph(source, ASNetOptions(input_size=SIZE, fixation_28=True),
                             gates="keras2")
    keras2.write_keras2(model, tmp_path / "k2.h5")
    with h5py.File(tmp_path / "k2.h5", "r") as file:
        for attributes in (file.attrs, file["model_weights"].attrs):
            assert (attributes["keras_version"], attributes["backend"]) == ("2.15.0", "tensorflow")
        config = json.loads(file.attrs["model_config"])
        group = file["model_weights"]
        names = _attribute(group, "layer_names")
        assert names == [layer["name"] for layer in config["config"]["layers"]]
        assert len(names) == len(model.layers)
        layers = {layer["name"]: layer for layer in config["config"]["layers"]}
        assert config["class_name"] == "Functional"
        assert config["config"]["input_layers"] == [["image", 0, 0]]
        assert [o[0] for o in config["config"]["output_layers"]] == list(source.output_names)
        image = layers["image"]["config"]
        assert image["batch_input_shape"] == [None, SIZE, SIZE, 3] and "batch_shape" not in image
        lstm = layers["convlstm_conv5"]
        assert lstm["inbound_nodes"] == [[["convlstm_conv5_repeat", 0, 0, {}]]]
        assert lstm["config"]["recurrent_activation"] == "sigmoid"  # the paper's gates
        assert lstm["config"]["recurrent_initializer"] == {
            "class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}}
        assert lstm["config"]["dtype"] == "float32" and lstm["config"]["unroll"] is False
        assert layers["concat_conv4"]["inbound_nodes"] == [
            [["compress_conv4_sigmoid", 0, 0, {}], ["upsample_conv4", 0, 0, {}]]]
        assert "synchronized" not in layers["compress_conv4_bn"]["config"]
        for name, expected in (("convlstm_conv5", ["kernel", "recurrent_kernel", "bias"]),
                               ("compress_conv4_bn",
                                ["gamma", "beta", "moving_mean", "moving_variance"]),
                               ("preprocess", ["kernel", "bias"]),  # frozen
                               ("block1_conv1", ["kernel", "bias"]),  # 3×3
                               ("compress_conv5", ["kernel", "bias"])):
            stored = _attribute(group[name], "weight_names")
            assert stored == [f"{name}/{w}:0" for w in expected]
            layer = source.get_layer(name)
            for weight, variable in zip(expected, layer.weights, strict=True):
                assert variable.name == weight
                np.testing.assert_array_equal(group[name][name][f"{weight}:0"][()],
                                              np.asarray(variable))
        assert _attribute(group["image"], "weight_names") == []


def test_keras3_only_functions_are_refused(tmp_path):
    """Keras 3's `hard_sigmoid` is another function than Keras 2's: never written as it."""
    import keras

    image = keras.Input((8, 8, 3), name="image")
    step = keras.layers.Reshape((1, 8, 8, 3), name="step")(image)
    out = keras.layers.ConvLSTM2D(2, 3, padding="same", recurrent_activation="hard_sigmoid",
                                  name="lstm")(step)
    with pytest.raises(keras2.Keras2Unsupported, match="Keras 3's hard_sigmoid differs"):
        keras2.write_keras2(keras.Model(image, out), tmp_path / "x.h5")
    out = keras.layers.Dropout(0.5, name="drop")(image)
    with pytest.raises(keras2.Keras2Unsupported, match="'drop' is a Dropout"):
        keras2.write_keras2(keras.Model(image, out), tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_the_check_says_when_tf_keras_is_missing(tmp_path, monkeypatch, capsys):
    weights, _ = write_run(tmp_path / "run", use_convlstm=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(keras2.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tf_keras" else real(name, *a))
    with pytest.raises(FormatUnavailable, match="--no-check"):
        keras2.export_keras2(weights, tmp_path / "k2.h5")
    out = str(tmp_path / "k2.h5")
    assert export.main(["--weights", str(weights), "--format", "keras2", "--out", out]) == 2
    message = capsys.readouterr().err
    assert f"pip install --no-deps {keras2.KERAS2_PACKAGE}" in message
    assert not (tmp_path / "k2.h5").exists()
    # Unchecked on request: written, no differences reported.
    assert keras2.export_keras2(weights, out, check=False)["differences"] is None
    assert h5py.is_hdf5(out)


@needs_tf_keras
@pytest.mark.slow
def test_keras2_files_load_in_tf_keras_and_match(tmp_path, capsys):
    images = np.random.default_rng(3).uniform(0, 255, (3, SIZE, SIZE, 3)).astype("float32")
    expected, files = {}, []
    for variant, options in VARIANTS.items():
        weights, model = write_run(tmp_path / variant, **options)
        expected[variant] = outputs_of(model, images)
        out = tmp_path / f"{variant}.h5"
        if variant == "paper_28":  # the command line, with the export's own check
            assert export.main(["--weights", str(weights), "--format", "keras2",
                                "--out", str(out)]) == 0
            printed = capsys.readouterr().out
            assert "checked in a fresh process" in printed and "tf_keras.models" in printed
        else:
            report = keras2.export_keras2(weights, out, check=False)
            assert report["outputs"] == list(model.output_names)
        files.append(out.name)
    np.save(tmp_path / "images.npy", images)
    (tmp_path / "files.json").write_text(json.dumps(files))
    load_elsewhere(_LOAD_IN_TF_KERAS, tmp_path)

    order = json.loads((tmp_path / "order.json").read_text())
    worst = 0.0
    for variant in VARIANTS:
        name = f"{variant}.h5"
        with h5py.File(tmp_path / name, "r") as file:
            assert _attribute(file["model_weights"], "layer_names") == order[name]
        got = np.load(tmp_path / f"{name}.npz")
        assert sorted(got.files) == sorted(expected[variant]), variant
        for output, want in expected[variant].items():
            assert got[output].shape == want.shape
            difference = float(np.max(np.abs(got[output] - want)))
            assert difference <= 1e-5, (variant, output, difference)
            worst = max(worst, difference)
        assert max(float(np.std(v)) for v in expected[variant].values()) > 1e-3  # not flat
    print(f"keras2 round trip, largest difference over {len(VARIANTS)} networks: {worst:.3g}")
