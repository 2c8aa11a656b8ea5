"""One training step of ASNet at batch 10, 224 px: `static` against `stock` recurrence.

    python benchmarks/train_step.py                  # ~10 min on 2 cores
    python benchmarks/train_step.py --jit-compile on # the XLA measurement

Prints one JSON line: median (and minimum) seconds per training step of each graph,
`stock_over_static` (the speed-up of the static graph), and each graph's peak memory.

The step timed is the one the trainer runs (`asnet_keras.training.steps.single_device_step`,
i.e. `make_step_functions`: Eq. 13, Adam, the paper's full loss), with
`jit_compile=asnet_keras.performance.TRAIN_JIT_COMPILE` unless `--jit-compile` says
otherwise. Inputs are one fixed random batch: raw pixels, a fixation map per image and
binary masks at every output size, every label present (weights 1). Timing interleaves the two graphs round by round after
`--warmup` steps each (the first traces the step), so a change in the machine's load hits
both alike. Memory: a child process per graph builds and compiles it, runs two steps and
reports its peak resident set size (Linux `VmHWM`, MiB: Python, TensorFlow, model, optimizer
state and the step's activations).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inference  # noqa: E402 - the helpers shared with the inference benchmark

GRAPHS = ("static", "stock")


def trainer_step(kind, size, batch, jit):
    """The trainer's step for the `kind` graph on one fixed batch: a no-argument callable."""
    from asnet_keras.training.steps import single_device_step

    model = inference.build(kind, size)
    step = single_device_step(model, batch, jit_compile=jit)
    x, y = batch_for(model, batch, size)
    targets = [y[name] for name in model.output_names]
    weights = [np.ones(batch, "float32") for _ in targets]
    return lambda: step(x, targets, weights)


def batch_for(model, batch, size, seed=0):
    """(images, {output: target}) with plausible targets for every output."""
    import numpy as np

    rng = np.random.default_rng(seed)
    targets = {}
    for name, shape in zip(model.output_names, model.output_shape):
        shape = (batch,) + tuple(shape[1:])
        if name.startswith("fixation"):
            targets[name] = rng.uniform(0, 1, shape).astype("float32")
        else:
            targets[name] = (rng.uniform(0, 1, shape) > 0.7).astype("float32")
    return inference.images(batch, size, seed), targets


def child(kind, size, batch, jit):
    step = trainer_step(kind, size, batch, jit)
    for _ in range(2):
        step()
    print(json.dumps({"peak_rss_mib": round(inference.peak_rss_mib(), 1)}))


def main(argv=None):
    from asnet_keras import performance

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="timed steps per graph")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (>= 1)")
    parser.add_argument(
        "--jit-compile", choices=("default", "on", "off"), default="default",
        help="XLA for the train step; 'default' is asnet_keras.performance.TRAIN_JIT_COMPILE",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--child", choices=GRAPHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    jit = inference.jit_setting(args.jit_compile, performance.TRAIN_JIT_COMPILE)
    if args.child:
        child(args.child, args.size, args.batch, jit)
        return

    report = {"benchmark": "train_step", "input_px": args.size, "batch": args.batch,
              "jit_compile": jit, "rounds": args.rounds, "machine": inference.machine()}
    functions = {}
    for kind in GRAPHS:
        functions[kind] = trainer_step(kind, args.size, args.batch, jit)
        for _ in range(max(1, args.warmup)):
            functions[kind]()
    times = inference.time_interleaved(functions, args.rounds, 1)
    report.update({
        **{f"{kind}_s_per_step": round(times[kind]["median"], 3) for kind in GRAPHS},
        **{f"{kind}_min_s_per_step": round(times[kind]["min"], 3) for kind in GRAPHS},
        "stock_over_static": inference.ratio(times["stock"]["median"], times["static"]["median"]),
        "stock_over_static_min": inference.ratio(times["stock"]["min"], times["static"]["min"]),
    })
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    if not args.no_memory:
        functions.clear()
        peaks = {}
        for kind in GRAPHS:
            result = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", kind,
                 "--size", str(args.size), "--batch", str(args.batch),
                 "--jit-compile", args.jit_compile],
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"memory child for {kind} failed:\n{result.stderr[-3000:]}")
            peaks[kind] = json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mib"]
        report["peak_rss_mib"] = peaks
        report["peak_rss_method"] = "VmHWM (peak RSS) of one child process per graph, 2 steps"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
