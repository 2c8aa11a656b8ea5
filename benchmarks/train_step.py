"""One training step of ASNet on synthetic tensors, under any Keras backend.

    python benchmarks/train_step.py                        # TensorFlow, static vs stock, 224 px
    python benchmarks/train_step.py --backend jax          # the same step under JAX
    python benchmarks/train_step.py --backend torch --graphs static --size 64
    python benchmarks/train_step.py --jit-compile on       # the XLA measurement

Prints one JSON line: median (and minimum) seconds per training step of each graph,
`stock_over_static` when both graphs ran (the speed-up of the static graph), each graph's
peak memory, and the machine (CPU, Keras backend and version, the devices it ran on).

The step (`--step`):
- `trainer` (TensorFlow only, its default): the step `asnet train` runs,
  `asnet_keras.training.steps.single_device_step` (`make_step_functions`: Eq. 13, Adam,
  the paper's full loss, under tf.distribute's default strategy);
- `keras` (the default under JAX and torch): `compile_asnet` + `train_on_batch`, the
  same Eq. 13 with the same losses and Adam (`tests/training/test_steps.py` checks that
  the two give the same loss on the same batch).
Under JAX and torch neither this script nor what it imports loads TensorFlow, so it runs
on a machine that has only JAX or PyTorch (docs/backends.md §5).

`--jit-compile default` is `asnet_keras.performance.TRAIN_JIT_COMPILE` under TensorFlow
(XLA off, measured faster on CPU) and Keras' "auto" under JAX (XLA through jax.jit) and
torch (eager). Inputs are one fixed random batch: raw pixels, a fixation map per image and
binary masks at every output size, every label present (weights 1). Timing interleaves
the graphs round by round after `--warmup` steps each (the first traces the step), so a
change in the machine's load hits both alike. Memory: a child process per graph builds
and compiles it, runs two steps and reports its peak resident set size (Linux `VmHWM`,
MiB: Python, the framework, model, optimizer state and the step's activations; host
memory only, not an accelerator's).
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

from asnet_keras.training import timing  # noqa: E402 - the one home of the timed step

GRAPHS = ("static", "stock")
BACKENDS = ("tensorflow", "jax", "torch")
STEPS = ("trainer", "keras")


def trainer_step(kind, size, batch, jit):
    """The trainer's step (TensorFlow) for the `kind` graph on one fixed batch."""
    return timing.trainer_step(inference.build(kind, size), batch, jit_compile=jit)


def keras_step(kind, size, batch, jit):
    """`compile_asnet` + `train_on_batch` (any backend) for the `kind` graph, one batch."""
    from asnet_keras.model.losses import compile_asnet

    model = compile_asnet(inference.build(kind, size), jit_compile=jit)
    x, y = batch_for(model, batch, size)
    targets = [y[name] for name in model.output_names]
    weights = [np.ones(batch, "float32") for _ in targets]
    return lambda: model.train_on_batch(x, targets, sample_weight=weights)


def make_step(step, kind, size, batch, jit):
    return (trainer_step if step == "trainer" else keras_step)(kind, size, batch, jit)


def jit_for(setting, backend, training=True):
    """`jit_compile` for `--jit-compile` "on", "off" or "default": Keras' "auto" under JAX
    (jax.jit) and torch (eager); under TensorFlow what `asnet_keras.performance` measured
    faster, TRAIN_JIT_COMPILE (or PREDICT_JIT_COMPILE when not `training`)."""
    from asnet_keras import performance

    measured = performance.TRAIN_JIT_COMPILE if training else performance.PREDICT_JIT_COMPILE
    return inference.jit_setting(setting, measured if backend == "tensorflow" else "auto")


def batch_for(model, batch, size, seed=0):
    """(images, {output: target}) with plausible targets for every output (`size` is the
    model's input side; asnet_keras.training.timing.synthetic_batch)."""
    return timing.synthetic_batch(model, batch, seed)


def child(step, kind, size, batch, jit):
    run = make_step(step, kind, size, batch, jit)
    for _ in range(2):
        run()
    print(json.dumps({"peak_rss_mib": round(inference.peak_rss_mib(), 1)}))


def build_parser():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example, a GPU figure on a machine with JAX but no TensorFlow: "
        "python benchmarks/train_step.py --backend jax --graphs static",
    )
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--step", choices=STEPS, default=None,
                        help="what is timed: the trainer's tf.distribute step (TensorFlow "
                        "only, its default) or compile_asnet + train_on_batch (default "
                        "under jax and torch)")
    parser.add_argument("--graphs", default=",".join(GRAPHS),
                        help="comma-separated recurrences to time: static, stock (default both)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="timed steps per graph")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (>= 1)")
    parser.add_argument(
        "--jit-compile", choices=("default", "on", "off"), default="default",
        help="XLA / compilation of the step; 'default': asnet_keras.performance."
        "TRAIN_JIT_COMPILE under TensorFlow, Keras' 'auto' under jax and torch",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--child", choices=GRAPHS, help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    backend = args.backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if backend not in BACKENDS:
        parser.error(f"KERAS_BACKEND={backend!r}: pass --backend tensorflow, jax or torch")
    # Before anything imports Keras: the backend is fixed at its first import.
    os.environ["KERAS_BACKEND"] = backend
    step = args.step or ("trainer" if backend == "tensorflow" else "keras")
    if step == "trainer" and backend != "tensorflow":
        parser.error("--step trainer is tf.distribute code: use --backend tensorflow, or "
                     "--step keras (the same Eq. 13 through compile_asnet)")
    graphs = [g.strip() for g in args.graphs.split(",") if g.strip()]
    if not graphs or any(g not in GRAPHS for g in graphs):
        parser.error(f"--graphs {args.graphs!r}: pass static, stock or static,stock")

    from asnet_keras.devices import machine_info

    jit = jit_for(args.jit_compile, backend)
    if args.child:
        child(step, args.child, args.size, args.batch, jit)
        return 0

    report = {"benchmark": "train_step", "backend": backend, "step": step,
              "input_px": args.size, "batch": args.batch, "jit_compile": jit,
              "rounds": args.rounds, "machine": machine_info()}
    functions = {}
    for kind in graphs:
        functions[kind] = make_step(step, kind, args.size, args.batch, jit)
        for _ in range(max(1, args.warmup)):
            functions[kind]()
    times = inference.time_interleaved(functions, args.rounds, 1)
    report.update({f"{kind}_s_per_step": round(times[kind]["median"], 3) for kind in graphs})
    report.update({f"{kind}_min_s_per_step": round(times[kind]["min"], 3) for kind in graphs})
    if set(graphs) == set(GRAPHS):
        report["stock_over_static"] = inference.ratio(
            times["stock"]["median"], times["static"]["median"])
        report["stock_over_static_min"] = inference.ratio(
            times["stock"]["min"], times["static"]["min"])
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    report["tensorflow_loaded"] = sys.modules.get("tensorflow") is not None
    if not args.no_memory:
        functions.clear()
        peaks = {}
        for kind in graphs:
            result = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", kind,
                 "--backend", backend, "--step", step, "--size", str(args.size),
                 "--batch", str(args.batch), "--jit-compile", args.jit_compile],
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"memory child for {kind} failed:\n{result.stderr[-3000:]}")
            peaks[kind] = json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mib"]
        report["peak_rss_mib"] = peaks
        report["peak_rss_method"] = "VmHWM (peak RSS) of one child process per graph, 2 steps"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
