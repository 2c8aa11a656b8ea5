"""Where ASNet's head spends its time: each ConvLSTM stage, part by part, against VGG16.

    python benchmarks/head_profile.py                 # 224 px, batch 1 and 10, ~3 min
    python benchmarks/head_profile.py --size 112 --batches 1

Prints one JSON line. For each batch size and each of the five `StaticConvLSTM2D`
stages (conv5 at H/16 … conv1 at full resolution; docs/model.md §1.1), the median
milliseconds per image of

- `input_conv`: the input-to-state convolution W^X ∗ X + b, once per layer (C_in → 4F);
- `state_conv`: one state-to-state convolution W^H ∗ H (F → 4F); the layer runs it
  T − 1 = 2 times;
- `gates_first`: the gate arithmetic of step 1 (split, σ, tanh, products; no forget gate);
- `gates_step`: the gate arithmetic of one later step (sum with the input part, split,
  σ ×3, tanh ×2, products, sum); the layer runs it 2 times;
- `layer`: the whole layer as ASNet calls it;
- `gates_step_xla`: `gates_step` compiled by XLA into one fused loop (a candidate
  lever: how much of the arithmetic is memory traffic between separate kernels);

with the multiply-accumulates of each convolution and the rate it reached (GMAC/s).
Each stage's `parts_sum` = input_conv + 2·state_conv + gates_first + 2·gates_step
should be close to its `layer`. Beside them: the VGG16 backbone alone and the whole
ASNet (`static` graph), their rates, and `head_rest` = ASNet − backbone − Σ layers
(compressions, read-outs, upsampling, concatenations).

Every piece is a `tf.function` on fixed random tensors of the stage's real shapes and
the layer's own variables, run after two warm-up calls, all pieces timed in the same
interleaved rounds (the order rotating every round) so that the machine's load hits
them alike; the load average is printed at the start and the end.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inference  # noqa: E402 - shared helpers: build, images, time_interleaved, machine

VGG16_LAYERS = [(1, 3, 64), (1, 64, 64), (2, 64, 128), (2, 128, 128), (4, 128, 256),
                (4, 256, 256), (4, 256, 256), (8, 256, 512), (8, 512, 512), (8, 512, 512),
                (16, 512, 512), (16, 512, 512), (16, 512, 512)]  # (stride, C_in, C_out)


def backbone_macs(size):
    """Multiply-accumulates of VGG16's 13 3×3 convolutions for one size×size image."""
    return sum((size // s) ** 2 * 9 * cin * cout for s, cin, cout in VGG16_LAYERS)


def stage_pieces(layer, batch, seed):
    """The timed functions of one `StaticConvLSTM2D` and its convolution MACs per image."""
    import numpy as np
    import tensorflow as tf
    from keras import ops

    _, height, width, channels = layer.input.shape
    filters = layer.filters
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(0, 1, (batch, height, width, channels)).astype("float32"))
    h = tf.constant(rng.uniform(-0.5, 0.5, (batch, height, width, filters)).astype("float32"))
    c = tf.constant(rng.uniform(-1, 1, (batch, height, width, filters)).astype("float32"))
    part = tf.constant(rng.normal(0, 1, (batch, height, width, 4 * filters)).astype("float32"))
    state = tf.constant(rng.normal(0, 1, (batch, height, width, 4 * filters)).astype("float32"))
    sigma, tanh = layer.recurrent_activation, layer.activation

    @tf.function
    def input_conv():
        return ops.conv(x, layer.kernel, padding="same") + layer.bias

    @tf.function
    def state_conv():
        return ops.conv(h, layer.recurrent_kernel, padding="same")

    @tf.function
    def gates_first():
        z_i, _, z_c, z_o = ops.split(part, 4, axis=-1)
        cell = sigma(z_i) * tanh(z_c)
        return sigma(z_o) * tanh(cell), cell

    def step(part, state, c):
        z_i, z_f, z_c, z_o = ops.split(part + state, 4, axis=-1)
        cell = sigma(z_f) * c + sigma(z_i) * tanh(z_c)
        return sigma(z_o) * tanh(cell), cell

    gates_step = tf.function(lambda: step(part, state, c))
    xla_step = tf.function(step, jit_compile=True)
    gates_step_xla = tf.function(lambda: xla_step(part, state, c))
    whole = tf.function(lambda: layer(x))

    pixels = height * width
    macs = {"input_conv": pixels * 9 * channels * 4 * filters,
            "state_conv": pixels * 9 * filters * 4 * filters}
    pieces = {"input_conv": input_conv, "state_conv": state_conv, "gates_first": gates_first,
              "gates_step": gates_step, "gates_step_xla": gates_step_xla, "layer": whole}
    shape = {"resolution": int(height), "input_channels": int(channels),
             "filters": int(filters)}
    return pieces, macs, shape


def profile(size, batch, rounds):
    import tensorflow as tf

    from asnet_keras.layers import StaticConvLSTM2D

    asnet = inference.build("static", size)
    backbone = inference.build("backbone", size)
    images = tf.constant(inference.images(batch, size))
    functions = {"backbone": tf.function(lambda: backbone(images, training=False)),
                 "asnet": tf.function(lambda: asnet(images, training=False))}
    stages, macs = {}, {}
    layers = [layer for layer in asnet.layers if isinstance(layer, StaticConvLSTM2D)]
    for index, layer in enumerate(layers):
        pieces, stage_macs, shape = stage_pieces(layer, batch, seed=index)
        stages[layer.name] = shape
        macs[layer.name] = stage_macs
        for part, function in pieces.items():
            functions[f"{layer.name}/{part}"] = function
    for function in functions.values():
        function()
        function()
    times = inference.time_interleaved(functions, rounds, batch)
    ms = {name: 1000 * value["median"] for name, value in times.items()}

    result = {"backbone_ms": round(ms["backbone"], 2), "asnet_ms": round(ms["asnet"], 2),
              "asnet_over_backbone": inference.ratio(ms["asnet"], ms["backbone"])}
    result["backbone_gmac_per_s"] = round(backbone_macs(size) / ms["backbone"] / 1e6, 1)
    layers_total = 0.0
    for name, shape in stages.items():
        row = dict(shape)
        for part in ("input_conv", "state_conv", "gates_first", "gates_step",
                     "gates_step_xla", "layer"):
            row[f"{part}_ms"] = round(ms[f"{name}/{part}"], 3)
        row["parts_sum_ms"] = round(
            ms[f"{name}/input_conv"] + 2 * ms[f"{name}/state_conv"]
            + ms[f"{name}/gates_first"] + 2 * ms[f"{name}/gates_step"], 3)
        row["gate_arithmetic_share_of_parts"] = round(
            (ms[f"{name}/gates_first"] + 2 * ms[f"{name}/gates_step"]) / row["parts_sum_ms"], 3)
        for part in ("input_conv", "state_conv"):
            row[f"{part}_gmacs"] = round(macs[name][part] / 1e9, 3)
            row[f"{part}_gmac_per_s"] = round(macs[name][part] / ms[f"{name}/{part}"] / 1e6, 1)
        row["layer_over_backbone"] = round(ms[f"{name}/layer"] / ms["backbone"], 3)
        layers_total += ms[f"{name}/layer"]
        result[name] = row
    result["convlstm_layers_ms"] = round(layers_total, 2)
    result["head_rest_ms"] = round(ms["asnet"] - ms["backbone"] - layers_total, 2)
    head_macs = sum(m["input_conv"] + 2 * m["state_conv"] for m in macs.values())
    result["convlstm_gmacs"] = round(head_macs / 1e9, 2)
    result["backbone_gmacs"] = round(backbone_macs(size) / 1e9, 2)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rounds", type=int, default=7, help="timed calls per piece")
    args = parser.parse_args(argv)
    inference.quiet_tensorflow_logger()
    report = {"benchmark": "head_profile", "input_px": args.size, "rounds": args.rounds,
              "machine": inference.machine()}
    for batch in args.batches:
        report[f"batch_{batch}"] = profile(args.size, batch, args.rounds)
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
