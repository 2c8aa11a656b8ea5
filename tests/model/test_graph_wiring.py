"""The `paper` graph's wiring, read off the built Keras functional graph (each layer's
inbound tensors in `model.get_config()`), not inferred from widths: which VGG16 layer feeds
each stage, which output feeds each upsampling, and the order of every concatenation
(docs/model.md §1.1; paper §3.1–3.2, Fig. 3)."""

import itertools

import pytest

from asnet_keras.model.options import ASNetOptions

# The side output of each stage, as the paper names them: conv1-2, conv2-2, conv3-3,
# conv4-3, conv5-3 (the last convolution of each VGG16 block).
SIDE = {1: "block1_conv2", 2: "block2_conv2", 3: "block3_conv3", 4: "block4_conv3",
        5: "block5_conv3"}
VGG16 = ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2",
         "block2_pool", "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool",
         "block4_conv1", "block4_conv2", "block4_conv3", "block4_pool", "block5_conv1",
         "block5_conv2", "block5_conv3"]


def _backbone():
    """image → preprocess → VGG16's layers one after the other (pool5 left out)."""
    edges = {"preprocess": ["image"], VGG16[0]: ["preprocess"]}
    edges.update((b, [a]) for a, b in itertools.pairwise(VGG16))
    return edges


def _stages_4_to_1(edges):
    """Stage k < 5: 1×1 compression of SIDE[k] (+ BN, sigmoid), ⊕ Q(k+1) upsampled ×2 —
    compressed features first — ConvLSTM, 1×1 readout → Q_k."""
    for k in (4, 3, 2, 1):
        edges[f"compress_conv{k}"] = [SIDE[k]]
        edges[f"compress_conv{k}_bn"] = [f"compress_conv{k}"]
        edges[f"compress_conv{k}_sigmoid"] = [f"compress_conv{k}_bn"]
        edges[f"upsample_conv{k}"] = [f"saliency_conv{k + 1}"]
        edges[f"concat_conv{k}"] = [f"compress_conv{k}_sigmoid", f"upsample_conv{k}"]
        edges[f"convlstm_conv{k}"] = [f"concat_conv{k}"]
        edges[f"saliency_conv{k}"] = [f"convlstm_conv{k}"]
    return edges


def full_with_fixation_28():
    edges = _backbone()
    # P: 3×3 readout of conv5-3 (§3.1)
    edges["fixation"] = [SIDE[5]]
    # stage 5: 3×3 compression of conv5-3, ⊕ P (compressed first), ConvLSTM, readout
    edges["compress_conv5"] = [SIDE[5]]
    edges["concat_conv5"] = ["compress_conv5", "fixation"]
    edges["convlstm_conv5"] = ["concat_conv5"]
    edges["saliency_conv5"] = ["convlstm_conv5"]
    _stages_4_to_1(edges)
    # ASNet-28×28 (§4.1): P ×2 ⊕ stage 4's compressed conv4-3, ConvLSTM, readout
    edges["fixation_upsample"] = ["fixation"]
    edges["fixation_concat_conv4"] = ["compress_conv4_sigmoid", "fixation_upsample"]
    edges["fixation_convlstm_conv4"] = ["fixation_concat_conv4"]
    edges["fixation_conv4"] = ["fixation_convlstm_conv4"]
    return edges


def without_fixation():
    """`w/o fixation`: no P, stage 5's ConvLSTM reads the compressed conv5-3 alone."""
    edges = _backbone()
    edges["compress_conv5"] = [SIDE[5]]
    edges["convlstm_conv5"] = ["compress_conv5"]
    edges["saliency_conv5"] = ["convlstm_conv5"]
    return _stages_4_to_1(edges)


def stock_recurrence():
    """`recurrence="stock"`: each ConvLSTM2D reads its input reshaped to one time step and
    repeated three times (T = 3)."""
    edges = full_with_fixation_28()
    for name in [f"convlstm_conv{k}" for k in (5, 4, 3, 2, 1)] + ["fixation_convlstm_conv4"]:
        edges[f"{name}_repeat_step"] = edges[name]
        edges[f"{name}_repeat"] = [f"{name}_repeat_step"] * 3
        edges[name] = [f"{name}_repeat"]
    return edges


CASES = {
    "full, fixation_28": (dict(fixation_28=True), full_with_fixation_28,
                          ["fixation", "saliency_conv5", "saliency_conv4", "saliency_conv3",
                           "saliency_conv2", "saliency_conv1", "fixation_conv4"]),
    "w/o fixation": (dict(fixation_head=False), without_fixation,
                     ["saliency_conv5", "saliency_conv4", "saliency_conv3", "saliency_conv2",
                      "saliency_conv1"]),
    "stock recurrence": (dict(fixation_28=True, recurrence="stock"), stock_recurrence,
                         ["fixation", "saliency_conv5", "saliency_conv4", "saliency_conv3",
                          "saliency_conv2", "saliency_conv1", "fixation_conv4"]),
}
assert len(CASES) == 3


def _history(value):
    """The layer names of the Keras tensors in a serialised call argument, in order."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value["config"]["keras_history"][0]]
    if isinstance(value, (list, tuple)):
        return [name for item in value for name in _history(item)]
    return []


def inbound(model):
    """{layer name: [the layers whose outputs it is called on, in argument order]} from the
    model's functional config; every layer is called exactly once."""
    edges = {}
    for layer in model.get_config()["layers"]:
        nodes = layer["inbound_nodes"]
        assert len(nodes) <= 1, f"{layer['name']} is called {len(nodes)} times"
        if nodes:
            edges[layer["name"]] = _history(nodes[0]["args"]) + _history(nodes[0]["kwargs"])
    return edges


@pytest.mark.parametrize("case", CASES)
def test_paper_graph_is_wired_as_the_paper_draws_it(case):
    options, expected, outputs = CASES[case]
    model = ASNetOptions(input_size=32, config="paper", **options).build()
    assert inbound(model) == expected()
    assert [name for name, _, _ in model.get_config()["output_layers"]] == outputs


def test_inbound_reads_the_graph_not_the_layer_list():
    """`inbound` follows tensors: two layers applied in the other order read the other way."""
    import keras

    image = keras.Input((8, 8, 3), name="image")
    a = keras.layers.Conv2D(2, 1, name="a")(image)
    b = keras.layers.Conv2D(2, 1, name="b")(image)
    model = keras.Model(image, keras.layers.Concatenate(name="cat")([b, a]))
    assert inbound(model) == {"a": ["image"], "b": ["image"], "cat": ["b", "a"]}
