"""Timing the trainer's step on this machine, on a fixed synthetic batch.

The one home of "how long does a training step take here": `asnet reproduce` times a
few steps before it trains and estimates the run's length from them
(`asnet_keras.reproduction.estimate`, docs/reproduce.md §3), and
`benchmarks/train_step.py` reports the same step (`trainer_step`, `synthetic_batch`).

The step is `steps.single_device_step`: the trainer's own `make_step_functions` step
(Eq. 13, Adam, the loss variant), on this process's default device. Its inputs are one
fixed random batch: raw pixels in [0, 255), a fixation-like map for every fixation output
and a binary mask for every saliency output, every label present (weights 1), so the
step does all the work a real batch asks for. The cost of a step does not depend on the
values of the weights or of the pixels, so random weights and pixels time it exactly.

NumPy only at import: TensorFlow and Keras are imported by the functions that build or
run a step (the benchmark imports this module under JAX and torch too, where only
`synthetic_batch` is used).
"""

import dataclasses
import statistics
import time

import numpy as np

from asnet_keras.training.steps import single_device_step  # no framework at import


def synthetic_batch(model, batch_size, seed=0):
    """A fixed batch for `model`: (images, {output name: target}).

    Args:
        model: an ASNet Keras model (square input of side S).
        batch_size: images in the batch (B).
        seed: NumPy seed of the values.
    Returns:
        images (B, S, S, 3) float32 uniform in [0, 255); per output a (B, h, w, 1)
        float32 target of that output's shape: uniform in [0, 1) for fixation outputs,
        0/1 (about 30 % ones) for saliency outputs.
    """
    rng = np.random.default_rng(seed)
    size = model.input_shape[1]
    images = rng.uniform(0, 255, (batch_size, size, size, 3)).astype("float32")
    targets = {}
    for name, shape in zip(model.output_names, model.output_shape):
        shape = (batch_size,) + tuple(shape[1:])
        if name.startswith("fixation"):
            targets[name] = rng.uniform(0, 1, shape).astype("float32")
        else:
            targets[name] = (rng.uniform(0, 1, shape) > 0.7).astype("float32")
    return images, targets


def trainer_step(model, batch_size, *, jit_compile=False, loss_variant="full", seed=0):
    """A zero-argument function that runs one step of the trainer on a fixed batch.

    `steps.single_device_step` (TensorFlow) with `synthetic_batch` as its input; each
    call is one optimizer update of `model`. Returns the step's losses (1 + outputs,).
    """
    step = single_device_step(model, batch_size, loss_variant=loss_variant,
                              jit_compile=jit_compile)
    images, targets = synthetic_batch(model, batch_size, seed)
    ordered = [targets[name] for name in model.output_names]
    weights = [np.ones(batch_size, "float32") for _ in ordered]
    return lambda: step(images, ordered, weights)


@dataclasses.dataclass(frozen=True)
class StepTiming:
    """Seconds of the first calls (tracing and compiling included) and of the timed ones."""

    first_s: tuple  # the warm-up calls, in order: the first one traces the step
    seconds: tuple  # each timed call
    setup_s: float = 0.0  # building what is called (the model and its step), if timed

    @property
    def median(self):
        """Median seconds of a timed call."""
        return statistics.median(self.seconds)

    @property
    def minimum(self):
        return min(self.seconds)

    def to_json(self):
        return {"first_s": [round(s, 4) for s in self.first_s],
                "seconds": [round(s, 4) for s in self.seconds],
                "median_s": round(self.median, 4), "min_s": round(self.minimum, 4),
                "setup_s": round(self.setup_s, 4)}


def time_calls(function, calls, warmup=1):
    """Call `function` `warmup` times, then `calls` times, timing each call.

    Args:
        function: a zero-argument function (one training step, say).
        calls: timed calls, at least 1.
        warmup: untimed-for-the-median calls first, at least 1 (the first traces).
    Returns:
        a `StepTiming`.
    """
    if calls < 1 or warmup < 1:
        raise ValueError(f"time_calls needs calls >= 1 and warmup >= 1 (got {calls}, {warmup})")

    def timed():
        start = time.perf_counter()
        function()
        return time.perf_counter() - start

    first = tuple(timed() for _ in range(warmup))
    return StepTiming(first, tuple(timed() for _ in range(calls)))


def time_training_step(options, batch_size, calls=3, warmup=1, *, jit_compile=False,
                       loss_variant="full"):
    """Time the trainer's step for the network `options` describes, on this machine.

    Args:
        options: the `ASNetOptions` of the network trained (`TrainConfig.model`).
        batch_size: the training batch (paper: 10).
        calls, warmup: as in `time_calls`.
        jit_compile, loss_variant: as the run will train (`TrainConfig`).
    Returns:
        a `StepTiming` whose `setup_s` is the time to build the model and its step. The
        model (random weights) is dropped afterwards and Keras' session cleared, so a
        training run in the same process starts as it would alone.
    """
    import keras  # heavy: loaded when a step is built

    start = time.perf_counter()
    model = options.build(None)
    try:
        step = trainer_step(model, batch_size, jit_compile=jit_compile,
                            loss_variant=loss_variant)
        setup = time.perf_counter() - start
        return dataclasses.replace(time_calls(step, calls, warmup), setup_s=setup)
    finally:
        del model
        keras.backend.clear_session()
