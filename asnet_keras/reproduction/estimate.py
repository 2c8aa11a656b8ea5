"""How long a reproduction will take on this machine, from a few timed training steps.

docs/reproduce.md §3. Before training, the trainer's own step
(`asnet_keras.training.timing`) is built and timed at the run's input size and batch: one
warm-up call (it traces the step), then `calls` timed calls. From the time to build the
model and its step (setup), the warm-up's extra cost (trace) and the median s/step:

    train       setup + trace + s/step × steps per epoch × epochs          (measured)
    validation  (trace + epochs × ⌈validation images / batch⌉ × s/step) × FORWARD_SHARE
    evaluate    setup + trace × FORWARD_SHARE
                + test images × (s/step / batch × FORWARD_SHARE + METRICS_S_PER_IMAGE)
    baseline    test images × METRICS_S_PER_IMAGE
    notebooks   notebooks × NOTEBOOK_S

The train line is measured; the others are stated estimates built on the constants
below. Not counted: saving the model files after each epoch, and the preparation of the
data (done before the estimate). Early stopping can end training sooner; a machine busy
with other work makes every part longer (the load average is recorded beside the
figures).
"""

import dataclasses
import math
import os

from asnet_keras.formatting import format_duration
from asnet_keras.training.timing import time_training_step

# A forward pass costs about a third of a training step (the backward pass about twice
# the forward): the share of a step that validation and evaluation pay per batch.
FORWARD_SHARE = 1 / 3
# Every metric of one 400×300 image (fixation and salient-object): 79.5 s for 1,000
# images on the project's 2-core machine (`make bench-metrics`, docs/reproduce.md §3).
METRICS_S_PER_IMAGE = 0.08
# One notebook executed in a fresh kernel: five took 7-14 s in the measured reproductions
# (docs/reproduce.md §5), 1.5-2.8 s each; the upper end, rounded.
NOTEBOOK_S = 3.0


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The measured step and what the run will do; `parts` gives seconds per stage."""

    step: dict  # StepTiming.to_json(): first_s, seconds, median_s, min_s
    input_size: int
    batch_size: int
    steps_per_epoch: int
    epochs: int
    n_train: int
    n_val: int
    n_test: int
    n_notebooks: int
    load_average: list | None = None  # 1, 5, 15 min, when the step was timed
    cpu_count: int | None = None

    @property
    def step_s(self):
        return self.step["median_s"]

    @property
    def trace_s(self):
        """What the first call cost beyond an ordinary step (tracing the step)."""
        return max(0.0, sum(self.step["first_s"]) - len(self.step["first_s"]) * self.step_s)

    @property
    def setup_s(self):
        """Building the model and its step (evaluation's loading is taken as the same)."""
        return self.step.get("setup_s", 0.0)

    @property
    def parts(self):
        """{part: estimated seconds}: train, validation, evaluate, baseline, notebooks."""
        forward_per_image = self.step_s / self.batch_size * FORWARD_SHARE
        return {
            "train": (self.setup_s + self.trace_s
                      + self.step_s * self.steps_per_epoch * self.epochs),
            "validation": (self.trace_s * FORWARD_SHARE
                           + self.epochs * math.ceil(self.n_val / self.batch_size)
                           * self.step_s * FORWARD_SHARE),
            "evaluate": (self.setup_s + self.trace_s * FORWARD_SHARE
                         + self.n_test * (forward_per_image + METRICS_S_PER_IMAGE)),
            "baseline": self.n_test * METRICS_S_PER_IMAGE,
            "notebooks": self.n_notebooks * NOTEBOOK_S,
        }

    @property
    def stages(self):
        """{stage name: estimated seconds} for the stages the estimate covers."""
        parts = self.parts
        return {"train": parts["train"] + parts["validation"], "evaluate": parts["evaluate"],
                "baseline": parts["baseline"], "notebooks": parts["notebooks"]}

    @property
    def total_s(self):
        return sum(self.parts.values())

    def lines(self):
        """The estimate as the console and the report print it."""
        parts = self.parts
        load = (f", load average {self.load_average[0]:.2f} on {self.cpu_count} cores"
                if self.load_average else "")
        return [
            f"Timed the training step here: {self.step_s:.3f} s per step of "
            f"{self.batch_size} images at {self.input_size} px (median of "
            f"{len(self.step['seconds'])}; building it {self.setup_s:.1f} s, the first "
            f"call, which traces it, {self.step['first_s'][0]:.1f} s{load}).",
            f"  training:   {format_duration(parts['train'])} "
            f"({self.epochs} epochs × {self.steps_per_epoch} steps; early stopping may end "
            "it sooner)",
            f"  validation: {format_duration(parts['validation'])} "
            f"({self.n_val} images per epoch; a forward pass ≈ {FORWARD_SHARE:.2f} step)",
            f"  evaluation: {format_duration(parts['evaluate'] + parts['baseline'])} "
            f"({self.n_test} test images, ASNet and the centre bias; metrics "
            f"≈ {METRICS_S_PER_IMAGE} s per image)",
            f"  notebooks:  {format_duration(parts['notebooks'])} ({self.n_notebooks} "
            f"notebooks ≈ {NOTEBOOK_S:.0f} s each)",
            f"Estimated total: {format_duration(self.total_s)} from now on this machine.",
        ]

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, content):
        return cls(**content)


def measure(config, n_test, n_notebooks, calls=3):
    """Time `calls` training steps for `config` (a `TrainConfig`) and build the `Estimate`.

    Args:
        config: the run's `TrainConfig` (its data must be prepared).
        n_test: test images the run will evaluate.
        n_notebooks: notebooks it will execute.
        calls: timed steps after the warm-up one (at least 1).
    """
    import keras  # heavy: loaded by the call that times a step, not by this module

    # Imported here: the input pipeline loads TensorFlow (seconds), which `--help` of the
    # commands built on this module must not pay.
    from asnet_keras.data.pipeline import count_images

    n_train, n_val = count_images(config.data, config.datasets)
    policy = keras.mixed_precision.global_policy().name
    if config.mixed_precision != "none":  # time the step the run will take
        keras.mixed_precision.set_global_policy(f"mixed_{config.mixed_precision}")
    try:
        timing = time_training_step(config.model, config.batch_size, calls,
                                    jit_compile=config.jit_compile,
                                    loss_variant=config.loss_variant)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    load = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return Estimate(
        step=timing.to_json(), input_size=config.input_size, batch_size=config.batch_size,
        steps_per_epoch=config.steps_per_epoch or math.ceil(n_train / config.batch_size),
        epochs=config.epochs, n_train=n_train, n_val=n_val, n_test=n_test,
        n_notebooks=n_notebooks, load_average=load, cpu_count=os.cpu_count(),
    )
