"""Inference speed and memory: ASNet (`static`, `stock`) against its VGG16 backbone alone.

    python benchmarks/inference.py                  # 224 px, batch 1 and 10, ~5–10 min
    python benchmarks/inference.py --jit-compile on # the XLA measurement

Prints one JSON line. For each batch size: the median (and the minimum) seconds per image
of the VGG16 backbone alone (preprocessing + 13 convolutions up to conv5_3, as inside
ASNet), of ASNet with `recurrence="static"` (the default graph, `asnet_*` keys) and with
`recurrence="stock"` (Keras' ConvLSTM2D), and the ratios of each ASNet to the backbone.

Timing: all three models live in this process and are timed in interleaved rounds (the
order rotating every round), after two warm-up calls each, with `predict_on_batch` on one
fixed batch — so a change in the machine's load hits all three alike and the ratios hold
even on a shared host. Weights are random: the cost does not depend on their values.

Memory: for each model, a child process builds it, runs batch 1 and then batch 10 and
reports its own peak resident set size (Linux `VmHWM`) after each: the whole process
(Python, TensorFlow, the model, the activations), in MiB. Batch 1 runs first, so the
figure after it is the batch-1 peak.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MODELS = ("backbone", "static", "stock")


def build(kind, size):
    """The backbone alone, or ASNet with the given recurrence, random weights."""
    import keras

    from asnet_keras.model import blocks
    from asnet_keras.model import build_asnet

    shape = (size, size, 3)
    if kind == "backbone":
        image = keras.Input(shape=shape, name="image")
        bgr = blocks.channel_preprocessing(image, blocks.CAFFE_MEANS_BGR)
        side = blocks.vgg16_backbone(bgr, shape, None)
        return keras.Model(image, side[5], name="vgg16_backbone")
    return build_asnet(shape, backbone_weights=None, recurrence=kind)


def jit_setting(value, default):
    return {"on": True, "off": False, "default": default}[value]


def images(batch, size, seed=0):
    import numpy as np

    return np.random.default_rng(seed).uniform(0, 255, (batch, size, size, 3)).astype("float32")


def peak_rss_mib():
    """Peak resident set size of this process's address space, MiB.

    Linux `VmHWM`: it starts afresh at exec. (`ru_maxrss` does not: a child started from
    a parent holding models inherits the parent's peak.)
    """
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def machine():
    """What the numbers were measured on."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(line.split(":", 1)[1].strip() for line in file if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def time_interleaved(functions, rounds, per):
    """Median and min seconds per item of each zero-argument function, interleaved rounds."""
    names = list(functions)
    samples = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            functions[name]()
            samples[name].append((time.perf_counter() - start) / per)
    return {
        name: {"median": statistics.median(values), "min": min(values)}
        for name, values in samples.items()
    }


def child(kind, size, batches, jit):
    """Peak RSS of one model after each batch size (run in its own process)."""
    model = build(kind, size)
    model.compile(jit_compile=jit)
    peaks = {}
    for batch in batches:
        x = images(batch, size)
        for _ in range(2):
            model.predict_on_batch(x)
        peaks[str(batch)] = round(peak_rss_mib(), 1)
    print(json.dumps(peaks))


def child_peaks(script_args, kinds):
    """Run `child` for each kind in a fresh process; {kind: {batch: MiB}}."""
    peaks = {}
    for kind in kinds:
        result = subprocess.run(
            [sys.executable, os.path.abspath(sys.argv[0]), "--child", kind, *script_args],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"memory child for {kind} failed:\n{result.stderr[-3000:]}")
        peaks[kind] = json.loads(result.stdout.strip().splitlines()[-1])
    return peaks


def ratio(a, b):
    return round(a / b, 3)


def main(argv=None):
    from asnet_keras import performance

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per model")
    parser.add_argument(
        "--jit-compile", choices=("default", "on", "off"), default="default",
        help="XLA for predict; 'default' is asnet_keras.performance.PREDICT_JIT_COMPILE",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    jit = jit_setting(args.jit_compile, performance.PREDICT_JIT_COMPILE)
    common = ["--size", str(args.size), "--jit-compile", args.jit_compile,
              "--batches", *map(str, args.batches)]
    if args.child:
        child(args.child, args.size, args.batches, jit)
        return

    report = {"benchmark": "inference", "input_px": args.size, "jit_compile": jit,
              "rounds": args.rounds, "machine": machine()}
    models = {kind: build(kind, args.size) for kind in MODELS}
    for model in models.values():
        model.compile(jit_compile=jit)
    for batch in args.batches:
        x = images(batch, args.size)
        functions = {kind: (lambda m=model: m.predict_on_batch(x)) for kind, model in models.items()}
        for function in functions.values():
            function()
            function()
        times = time_interleaved(functions, args.rounds, batch)
        base = times["backbone"]
        report[f"batch_{batch}"] = {
            **{f"{kind}_s_per_image": round(times[kind]["median"], 4) for kind in MODELS},
            **{f"{kind}_min_s_per_image": round(times[kind]["min"], 4) for kind in MODELS},
            "static_over_backbone": ratio(times["static"]["median"], base["median"]),
            "stock_over_backbone": ratio(times["stock"]["median"], base["median"]),
            "stock_over_static": ratio(times["stock"]["median"], times["static"]["median"]),
            "static_over_backbone_min": ratio(times["static"]["min"], base["min"]),
            "stock_over_backbone_min": ratio(times["stock"]["min"], base["min"]),
            # ASNet is the default (`static`) graph (docs/model.md §1.1).
            "asnet_s_per_image": round(times["static"]["median"], 4),
            "asnet_over_backbone": ratio(times["static"]["median"], base["median"]),
        }
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    if not args.no_memory:
        del models
        peaks = child_peaks(common, MODELS)
        for batch in args.batches:
            report[f"batch_{batch}"]["peak_rss_mib"] = {k: peaks[k][str(batch)] for k in MODELS}
        report["peak_rss_method"] = (
            "VmHWM (peak RSS) of one child process per model, after batch 1 then batch 10"
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
