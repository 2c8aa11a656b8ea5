"""Does the input pipeline keep up with training? Images per second, in one run, of:

  1. the training input pipeline alone (decode, augment, resize, targets, batch),
  2. one training step on a fixed, already-decoded batch (the model alone),
  3. training steps fed by the pipeline (what a run gets).

If (1) is well above (2) and (3) ≈ (2), training never waits for data.

Data: `--data ROOT --datasets a,b,c` (a prepared root), or by default a synthetic set of
SALICON-sized images (640 px on the longer side) written to a temporary folder.

Example:
    python benchmarks/pipeline.py                        # 224 px, batch 10, float32
    python benchmarks/pipeline.py --mixed-precision bfloat16 --steps 5
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="prepared root (default: synthetic, in a temp folder)")
    parser.add_argument("--datasets", default="synthetic-fix,synthetic-sod,synthetic-both")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--pipeline-batches", type=int, default=40,
                        help="batches timed for the pipeline alone")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed (after one warm-up)")
    parser.add_argument("--synthetic-size", type=int, default=640)
    parser.add_argument("--mixed-precision", choices=("none", "bfloat16", "float16"), default="none")
    parser.add_argument("--jit-compile", action="store_true")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from asnet_keras.data import pipeline as data
    from asnet_keras.model import build_asnet
    from asnet_keras.training.steps import make_step_functions

    datasets = [d for d in args.datasets.split(",") if d]
    root = args.data
    if root is None:
        from data_prep.synthetic import make_synthetic

        root = tempfile.mkdtemp(prefix="asnet-bench-")
        make_synthetic(root, n=40, size=args.synthetic_size)
    size, batch = args.input_size, args.batch_size
    print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          f"(1 min) — the host may be shared; TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"input {size} px, batch {batch}, data {root} ({', '.join(datasets)})")

    # 1. The pipeline alone.
    names = ["fixation", "saliency_conv5", "saliency_conv4", "saliency_conv3",
             "saliency_conv2", "saliency_conv1"]
    ds = data.training_dataset(root, datasets, names, size, batch, steps=args.pipeline_batches + 5)
    iterator = iter(ds)
    for _ in range(5):  # warm-up: graph, thread pools, file cache
        next(iterator)
    start = time.perf_counter()
    for _ in range(args.pipeline_batches):
        next(iterator)
    pipeline_rate = args.pipeline_batches * batch / (time.perf_counter() - start)
    print(f"pipeline alone: {pipeline_rate:.1f} images/s")

    # 2. and 3. Training steps.
    if args.mixed_precision != "none":
        keras.mixed_precision.set_global_policy(f"mixed_{args.mixed_precision}")
    strategy = tf.distribute.get_strategy()
    model = build_asnet((size, size, 3), backbone_weights=None)
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(model.trainable_variables)
    train_step, _ = make_step_functions(strategy, model, optimizer, "full", batch, args.jit_compile)
    fixed = next(iter(ds))
    fixed_iter = iter(tf.data.Dataset.from_tensors(fixed).repeat())
    start = time.perf_counter()
    train_step(fixed_iter).numpy()
    print(f"first step (tracing + graph optimisation): {time.perf_counter() - start:.1f} s")
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        train_step(fixed_iter).numpy()
        times.append(time.perf_counter() - start)
    step_time = statistics.median(times)
    print(f"training step, batch {batch} at {size} px: median {step_time:.2f} s "
          f"(all: {', '.join(f'{t:.2f}' for t in times)}) = {batch / step_time:.2f} images/s")

    fed = iter(data.training_dataset(root, datasets, names, size, batch, seed=1,
                                     steps=args.steps + 1))
    train_step(fed).numpy()  # same shapes: no retrace
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step(fed).numpy()
    fed_rate = args.steps * batch / (time.perf_counter() - start)
    print(f"training fed by the pipeline: {fed_rate:.2f} images/s")
    print(f"pipeline / step throughput: {pipeline_rate / (batch / step_time):.0f}x — "
          + ("the pipeline is not the bottleneck" if pipeline_rate > 2 * batch / step_time
             else "WARNING: the pipeline may hold training back"))


if __name__ == "__main__":
    main()
