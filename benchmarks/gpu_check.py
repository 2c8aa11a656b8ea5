"""The GPU check: ASNet's speed and memory on whatever accelerator the Keras backend sees.

    KERAS_BACKEND=jax python benchmarks/gpu_check.py                # 224 px, < 8 min on an H100
    python benchmarks/gpu_check.py --size 32 --total-s 120          # the CPU smoke test's run
    KERAS_BACKEND=jax python benchmarks/gpu_check.py --out gpu_check.json

Prints a short Markdown table, then one JSON line (also written to `--out`):
- `inference`: seconds per image of the VGG16 backbone alone and of ASNet (the default
  `static` graph, docs/model.md §1.1), `predict_on_batch` at batch 1, 10 and 32, in
  float32 and under Keras' `mixed_bfloat16` policy (bfloat16 compute, float32 variables,
  the one-channel read-outs kept in float32: docs/framework_notes.md §6; not a whole
  model cast to bfloat16);
- `training`: seconds per training step of ASNet through `compile_asnet` +
  `train_on_batch` (the same Eq. 13 as the trainer, `benchmarks/train_step.py`) at batch
  10 and 32, float32 and `mixed_bfloat16`, the images/s that implies and the hours the
  paper's schedule would take at that rate (`paper_schedule`);
- for each row its first call (tracing and XLA compiling included; `compile_s` is the
  first call less a steady call), the number of timed calls, and the peak memory of the
  accelerator (`memory_method` says how it was read; host memory on a CPU);
- `device`: what the backend runs on, `nvidia-smi`'s name, driver and memory, and the
  versions of Keras, the backend and its CUDA plugin;
- `skipped`: every row not measured, with the reason: out of time (its part's budget
  ran out), out of memory, unsupported, or failed (with the error's last line);
- `paper`: the paper's 0.08 s per 224² image and about 10 hours of training on a TITAN X
  (docs/model.md §3), beside ours.

Parts and time boxes: each part (one model and precision for inference, batches
ascending; one precision and batch for training) runs in its own child process, so that
its accelerator memory is its own (JAX cannot reset its peak) and so that it can be
stopped at its budget. A part gets `--budget-s` seconds, by default an equal share of
what is left of `--total-s` (time a part does not use passes on to the next). A child
prints a JSON line per batch as soon as it is measured, so a part stopped at its budget
keeps the batches it finished. Timed calls: up to `--rounds` after the first call and
one warm-up, fewer when the budget is short. Compilation: Keras' default for the backend
(`jax.jit` under JAX, XLA off under TensorFlow, `asnet_keras.performance`), or
`--jit-compile on|off`.

The parent process imports no framework, so a GPU is left whole to each child. Nothing
here or in what the children import needs TensorFlow under JAX or torch, nor any package
a bare JAX-with-CUDA machine lacks besides Keras itself (docs/backends.md §7 says how to
carry it there; `tests/test_gpu_check.py` runs this check with only those packages
importable).
"""

import argparse
import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inference  # noqa: E402 - shared benchmark helpers; puts the checkout on sys.path
import train_step  # noqa: E402 - the training step compile_asnet + train_on_batch

from asnet_keras import devices  # noqa: E402 - imports no framework until asked
from asnet_keras.formatting import MISSING, markdown_table  # noqa: E402
from asnet_keras.training.config import TrainConfig  # noqa: E402

MODELS = {"backbone": "backbone", "asnet": "static"}  # name in the report -> inference.build
PARTS = ("inference", "training")
PRECISIONS = ("float32", "mixed_bfloat16")
INFERENCE_BATCHES = (1, 10, 32)
TRAINING_BATCHES = (10, 32)
# What the paper reports (docs/model.md §3).
PAPER = {"s_per_image": 0.08, "input_px": 224, "training_hours": 10, "gpu": "TITAN X",
         "source": "docs/model.md §3"}
# The paper's training sets and their images (docs/datasets.md §1, §2, §3): SALICON train
# + val, THUS10K, DUT-OMRON.
PAPER_TRAINING_IMAGES = {"salicon": 15_000, "thus10k": 10_000, "dut-omron": 5_168}
DEFAULT_TOTAL_S = 420  # the parts' share of the 8 minutes an H100 run may take
MIN_PART_S = 5  # a part with less left than this is skipped without starting
MAX_BATCH = 256
MAX_SECONDS = 86_400
_OUT_OF_MEMORY = re.compile(r"RESOURCE_EXHAUSTED|out of memory|OutOfMemory|OOM when", re.I)
_UNSUPPORTED = re.compile(r"UNIMPLEMENTED|NotImplementedError|No registered '\w+' OpKernel|"
                          r"not supported|unsupported", re.I)
_VERSIONED = ("keras", "jax", "jaxlib", "tensorflow", "tensorflow-cpu", "torch", "numpy",
              "ml-dtypes")


def paper_schedule():
    """The images the paper's schedule trains on: epochs × ceil(images / batch) × batch.

    12 epochs of ceil(30,168 / 10) = 3,017 steps of 10 images: 362,040 images
    (`TrainConfig`'s defaults, docs/model.md §3; early stopping may end a run sooner).
    """
    images = sum(PAPER_TRAINING_IMAGES.values())
    epochs, batch = TrainConfig.epochs, TrainConfig.batch_size
    steps = math.ceil(images / batch)
    return {"training_images": images, "datasets": PAPER_TRAINING_IMAGES, "epochs": epochs,
            "batch": batch, "steps_per_epoch": steps, "images": epochs * steps * batch,
            "source": "docs/model.md §3 (schedule, epoch length); docs/datasets.md §1, §2, "
                      "§3 (images)"}


def parts(kinds, precisions, inference_batches, training_batches):
    """The parts in the order they run: float32 inference, then training, then bf16."""
    listed = []
    for precision in precisions:
        if "inference" in kinds:
            listed += [{"part": "inference", "model": model, "precision": precision,
                        "batches": list(inference_batches)} for model in MODELS]
        if "training" in kinds:
            listed += [{"part": "training", "model": "asnet", "precision": precision,
                        "batches": [batch]} for batch in training_batches]
    return listed


class PeakMemory:
    """The peak memory of the accelerator the backend computes on, in MiB.

    JAX: the device's `memory_stats()['peak_bytes_in_use']`, a peak since the process
    started (JAX cannot reset it: batches run ascending in one process, so the peak after
    a batch is that batch's). TensorFlow: `tf.config.experimental.get_memory_info`,
    reset before each batch. torch: `torch.cuda.max_memory_allocated`, reset likewise.
    On a CPU: the process's peak resident set size (host memory, `VmHWM`, everything
    the process holds).
    """

    def __init__(self, backend):
        self.reader = self.resetter = None
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu" and (device.memory_stats() or {}).get(
                    "peak_bytes_in_use") is not None:
                self.reader = lambda: device.memory_stats()["peak_bytes_in_use"]
                self.method = f"jax {device.platform} peak_bytes_in_use since the process start"
        elif backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_logical_devices("GPU"):
                tf.config.experimental.reset_memory_stats("GPU:0")
                self.reader = lambda: tf.config.experimental.get_memory_info("GPU:0")["peak"]
                self.resetter = lambda: tf.config.experimental.reset_memory_stats("GPU:0")
                self.method = "tensorflow get_memory_info('GPU:0')['peak'], reset per batch"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                self.reader = torch.cuda.max_memory_allocated
                self.resetter = torch.cuda.reset_peak_memory_stats
                self.method = "torch cuda.max_memory_allocated, reset per batch"
        if self.reader is None:
            self.method = "host: peak RSS (VmHWM) of the part's process, no accelerator"

    def reset(self):
        if self.resetter is not None:
            self.resetter()

    def peak_mib(self):
        if self.reader is None:
            return round(inference.peak_rss_mib(), 1)
        return round(self.reader() / 2**20, 1)


def child(part, size, rounds, jit_setting, deadline):
    """Run one part in this process: a JSON line for the device, then one per batch."""
    import keras

    backend = keras.backend.backend()
    keras.config.set_dtype_policy(part["precision"])
    jit = train_step.jit_for(jit_setting, backend, training=part["part"] == "training")
    description = devices.describe(backend)
    memory = PeakMemory(backend)
    emit({"kind": "device", "backend": backend, "backend_version": description["version"],
          "runs_on": [f"{d['kind']} ({d['name']})" for d in description["runs_on"]],
          "warning": description["warning"], "memory_method": memory.method,
          "jit_compile": jit})
    run = inference_batch if part["part"] == "inference" else training_batch
    model = None
    for batch in part["batches"]:
        if time.time() > deadline - 1:
            emit({"kind": "skipped", "batch": batch, "reason": "out of time: the part's "
                  "budget ran out before this batch"})
            continue
        try:
            row, model = run(part, model, batch, size, rounds, jit, deadline, memory)
        except Exception as error:  # one row lost, and why; the part goes on  # noqa: BLE001
            reason = classify(f"{type(error).__name__}: {error}")
            emit({"kind": "skipped", "batch": batch, "reason": reason})
            if reason.startswith("out of memory"):
                model = None  # larger batches run on a fresh model, if memory allows
            continue
        emit({"kind": "row", "batch": batch, **row})


def emit(line):
    print(json.dumps(line), flush=True)


def inference_batch(part, model, batch, size, rounds, jit, deadline, memory):
    """One batch of `predict_on_batch`: seconds per image, first call, peak memory."""
    build_s = 0.0
    if model is None:
        started = time.perf_counter()
        model = inference.build(MODELS[part["model"]], size)
        model.compile(jit_compile=jit)
        build_s = time.perf_counter() - started
    x = inference.images(batch, size)
    function = lambda: model.predict_on_batch(x)  # noqa: E731 - returns numpy: synchronised
    row = timed(function, batch, rounds, deadline, memory)
    row["build_s"] = round(build_s, 2)
    per_call = row.pop("s_per_call")
    row.update(s_per_image=significant(per_call / batch),
               min_s_per_image=significant(row.pop("min_s_per_call") / batch),
               images_per_s=significant(batch / per_call))
    return row, model


def training_batch(part, model, batch, size, rounds, jit, deadline, memory):
    """One batch of training steps (`train_step.keras_step`): seconds per step, images/s
    and the hours of the paper's schedule at that rate."""
    started = time.perf_counter()
    step = train_step.keras_step(MODELS[part["model"]], size, batch, jit)
    build_s = time.perf_counter() - started
    row = timed(step, batch, rounds, deadline, memory)
    per_step = row.pop("s_per_call")
    images_per_s = batch / per_step
    row.update(build_s=round(build_s, 2), s_per_step=significant(per_step),
               min_s_per_step=significant(row.pop("min_s_per_call")),
               s_per_image=significant(per_step / batch), images_per_s=significant(images_per_s),
               paper_schedule_hours=significant(paper_schedule()["images"] / images_per_s / 3600))
    return row, None


def timed(function, batch, rounds, deadline, memory):
    """First call, one warm-up call, then up to `rounds` timed calls that fit before the
    deadline (`inference.time_interleaved`); seconds per call and the peak memory."""
    memory.reset()
    started = time.perf_counter()
    function()
    first = time.perf_counter() - started
    started = time.perf_counter()
    function()
    warm = time.perf_counter() - started
    fit = int((deadline - time.time() - 1) / max(warm, 1e-6))
    if fit < 1:  # no time for one more call: the warm-up is the one sample
        median, fastest, count = warm, warm, 1
    else:
        count = min(rounds, fit)
        times = inference.time_interleaved({"call": function}, count, 1)["call"]
        median, fastest = times["median"], times["min"]
    return {"batch": batch, "s_per_call": median, "min_s_per_call": fastest,
            "rounds": count, "first_call_s": round(first, 2),
            "compile_s": round(max(first - median, 0.0), 2), "peak_memory_mib": memory.peak_mib()}


def significant(value, digits=4):
    """`value` rounded to `digits` significant digits (0.00031416 -> 0.0003142)."""
    return float(f"{value:.{digits}g}")


def classify(text):
    """'out of memory: …', 'unsupported: …' or 'failed: …' with the error's last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = (lines[-1] if lines else "no output")[:300]
    if _OUT_OF_MEMORY.search(text):
        return f"out of memory: {last}"
    if _UNSUPPORTED.search(text):
        return f"unsupported: {last}"
    return f"failed: {last}"


def run_part(part, args, backend, budget):
    """Start `child` for `part` with `budget` seconds; (device line, rows, skipped)."""
    deadline = time.time() + budget
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (inference.ROOT, env.get("PYTHONPATH")) if p)
    command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(part),
               "--size", str(args.size), "--rounds", str(args.rounds),
               "--jit-compile", args.jit_compile, "--deadline", repr(deadline)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        timed_out = True
    device, rows, skipped = None, [], []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        kind = record.pop("kind", None)
        if kind == "device":
            device = record
        elif kind in ("row", "skipped"):
            record.update(_label(part))
            (rows if kind == "row" else skipped).append(record)
    done = {r["batch"] for r in rows + skipped}
    if timed_out:
        reason = f"out of time: the part's budget of {budget:.1f} s ran out"
    elif process.returncode != 0:
        reason = classify(stderr)
    else:
        reason = "failed: the part's process ended without measuring it"
    for batch in part["batches"]:
        if batch not in done:
            skipped.append({"batch": batch, "reason": reason, **_label(part)})
    return device, rows, skipped


def versions():
    """Installed versions of Keras, the backends, NumPy and every JAX CUDA plugin."""
    found = {}
    for distribution in importlib.metadata.distributions():
        name = (distribution.metadata["Name"] or "").lower().replace("_", "-")
        if name in _VERSIONED or name.startswith(("jax-cuda", "jax-rocm")):
            found[name] = distribution.version
    return dict(sorted(found.items()))


def table(report):
    """The Markdown table of the measured rows, the paper's figures in the last column."""
    header = ["part", "precision", "batch", "s/image", "images/s", "s/step",
              "paper schedule h", "first call s", "peak MiB", "paper"]
    rows = []
    for row in report["inference"] + report["training"]:
        training = row["part"] == "training"
        paper = (f"{PAPER['training_hours']} h" if training
                 else f"{PAPER['s_per_image']} s/image" if row["model"] == "asnet" else "")
        rows.append([f"{row['part']} {row['model']}", row["precision"], row["batch"],
                     row["s_per_image"], row["images_per_s"],
                     row.get("s_per_step", MISSING), row.get("paper_schedule_hours", MISSING),
                     row["first_call_s"], row["peak_memory_mib"], paper])
    lines = [markdown_table(header, rows)]
    lines += [f"skipped: {s['part']} {s['model']} {s['precision']} batch {s['batch']}: "
              f"{s['reason']}" for s in report["skipped"]]
    return "\n".join(lines)


def check(report):
    """Exit status: 0 when every row was measured or skipped for time, memory or want of
    support; 1 when a part failed otherwise or nothing was measured."""
    failed = any(s["reason"].startswith("failed") for s in report["skipped"])
    return 1 if failed or not (report["inference"] or report["training"]) else 0


def batches(text):
    """'1,10,32' -> [1, 10, 32] (ascending, each from 1 to MAX_BATCH)."""
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: pass batch sizes like 1,10,32") from None
    if not values or values[0] < 1 or values[-1] > MAX_BATCH:
        raise argparse.ArgumentTypeError(f"{text!r}: pass batch sizes from 1 to {MAX_BATCH}")
    return values


def choices(allowed):
    """An argparse type: comma-separated values, each one of `allowed`, in that order."""
    def parse(text):
        values = [v.strip() for v in text.split(",") if v.strip()]
        if not values or any(v not in allowed for v in values):
            raise argparse.ArgumentTypeError(f"{text!r}: pass {' and/or '.join(allowed)}, "
                                             "comma-separated")
        return [v for v in allowed if v in values]
    return parse


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"{text!r}: pass seconds above 0, at most {MAX_SECONDS}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        description="ASNet's inference and training speed and memory on the accelerator "
        "the Keras backend sees (KERAS_BACKEND), beside the paper's figures.",
        epilog="On a lent GPU machine with JAX and no Keras: docs/backends.md §7. "
        "Example: KERAS_BACKEND=jax python benchmarks/gpu_check.py --out gpu_check.json",
    )
    parser.add_argument("--size", type=int, default=PAPER["input_px"],
                        help="image side in pixels, a multiple of 16 from 32 to 1024 "
                        "(default 224, the paper's)")
    parser.add_argument("--batches", type=batches, default=list(INFERENCE_BATCHES),
                        help="inference batch sizes (default 1,10,32)")
    parser.add_argument("--train-batches", type=batches, default=list(TRAINING_BATCHES),
                        help="training batch sizes (default 10,32; the paper trains at 10)")
    parser.add_argument("--parts", type=choices(PARTS), default=list(PARTS),
                        help="inference and/or training (default both)")
    parser.add_argument("--precisions", type=choices(PRECISIONS), default=list(PRECISIONS),
                        help="float32 and/or mixed_bfloat16 (default both)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed calls per row after the first call and one warm-up, "
                        "fewer when its budget is short (default 5)")
    parser.add_argument("--total-s", type=seconds, default=DEFAULT_TOTAL_S,
                        help=f"seconds for all parts together (default {DEFAULT_TOTAL_S}: "
                        "the whole check within 8 minutes)")
    parser.add_argument("--budget-s", type=seconds, default=None,
                        help="seconds per part, at most what is left of --total-s "
                        "(default: an equal share of what is left)")
    parser.add_argument("--jit-compile", choices=("default", "on", "off"), default="default",
                        help="XLA compilation; 'default': jax.jit under JAX, asnet_keras."
                        "performance's setting under TensorFlow, eager under torch")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON report here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (32 <= args.size <= 1024 and args.size % 16 == 0):
        parser.error(f"--size {args.size}: pass a multiple of 16 from 32 to 1024")
    if not 1 <= args.rounds <= 1000:
        parser.error(f"--rounds {args.rounds}: pass an integer from 1 to 1000")
    if args.child:
        child(json.loads(args.child), args.size, args.rounds, args.jit_compile, args.deadline)
        return 0
    backend = os.environ.get("KERAS_BACKEND") or "tensorflow"
    started = time.perf_counter()
    report = {"benchmark": "gpu_check", "backend": backend, "input_px": args.size,
              "parts": args.parts, "precisions": args.precisions,
              "bfloat16": "Keras' mixed_bfloat16 policy: bfloat16 compute, float32 "
                          "variables and read-outs (not the whole model in bfloat16)",
              "machine": {"cpu": devices.cpu_name(), "cores": os.cpu_count(),
                          "load_average_1min": round(os.getloadavg()[0], 2)},
              "nvidia_smi": devices.nvidia_gpu_details(), "versions": versions(),
              "device": None, "paper": PAPER, "paper_schedule": paper_schedule(),
              "inference": [], "training": [], "skipped": []}
    todo = parts(args.parts, args.precisions, args.batches, args.train_batches)
    end = time.time() + args.total_s
    budgets = {}
    for index, part in enumerate(todo):
        left = end - time.time()
        budget = min(args.budget_s or left / (len(todo) - index), left)
        name = f"{part['part']}/{part['model']}/{part['precision']}/{part['batches']}"
        if budget < MIN_PART_S:
            report["skipped"] += [{"batch": b, "reason": f"out of time: {left:.0f} s of "
                                   f"--total-s {args.total_s:.0f} left", **_label(part)}
                                  for b in part["batches"]]
            continue
        budgets[name] = round(budget, 1)
        device, rows, skipped = run_part(part, args, backend, budget)
        report["device"] = report["device"] or device
        report[part["part"]] += rows
        report["skipped"] += skipped
    report["budgets_s"] = budgets
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(report)
    print(table(report))
    print(text, flush=True)
    if args.out:
        from asnet_keras.io.atomic_files import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    return check(report)


def _label(part):
    return {"part": part["part"], "model": part["model"], "precision": part["precision"]}


if __name__ == "__main__":
    sys.exit(main())
