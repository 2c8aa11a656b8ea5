"""`asnet train` with deterministic TensorFlow ops and a record of every
training step, for the resume tests (`tests/training/test_resume.py`).

    python -m tests.support.deterministic_train --data ... --out ...   (train's options)

It enables `tf.config.experimental.enable_op_determinism()` (the run seeds itself from
`--seed`), then runs `asnet train` (`asnet_keras.commands.main`) with two observers added, which
change no value:

- every batch the training stream yields is digested (SHA-1 of the image, targets and
  weights) with its step number: a line `{"pid", "kind": "batch", "step", "digest"}`;
- every training step the loop runs writes `{"pid", "kind": "step", "iteration", "lr"}`:
  the optimizer's step count and the learning rate it applies in that step.

With `ASNET_TEST_HOLD_AFTER_BACKUP` set, the run holds after one backup for the test's
SIGKILL (`tests/support/hold_after_backup.py`).

Lines are appended to the file named by the environment variable `ASNET_TEST_STEP_LOG` (one
`os.write` each, so the data threads and the loop do not interleave within a line).
"""

import hashlib
import json
import os
import sys

from tests.support import hold_after_backup

STEP_LOG = "ASNET_TEST_STEP_LOG"


def _append(record):
    line = (json.dumps(dict(record, pid=os.getpid())) + "\n").encode()
    fd = os.open(os.environ[STEP_LOG], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _observe_batches(tf, pipeline):
    """Wrap `pipeline.training_dataset` so each yielded batch is logged with its step."""
    original = pipeline.training_dataset

    def log(step, *tensors):
        digest = hashlib.sha1()
        for tensor in tensors:
            digest.update(tensor.numpy().tobytes())
        _append({"kind": "batch", "step": int(step), "digest": digest.hexdigest()})
        return step

    def tag(step, batch):
        image, targets, weights = batch
        done = tf.py_function(log, [step, image, *targets, *weights], tf.int64)
        with tf.control_dependencies([done]):
            image = tf.identity(image)
        return image, targets, weights

    def training_dataset(*args, start_step=0, **kwargs):
        dataset = original(*args, start_step=start_step, **kwargs)
        return dataset.enumerate(start_step).map(tag)

    pipeline.training_dataset = training_dataset


def _observe_steps(loop):
    """Wrap the loop's training step so each call logs the optimizer's iteration and rate."""
    original = loop.make_step_functions

    def make_step_functions(strategy, model, optimizer, *args, **kwargs):
        train_step, val_step = original(strategy, model, optimizer, *args, **kwargs)

        def logged_step(iterator):
            iteration = int(optimizer.iterations.numpy())
            rate = float(optimizer.learning_rate.numpy())  # the schedule at `iteration`
            values = train_step(iterator)
            _append({"kind": "step", "iteration": iteration, "lr": rate})
            return values

        return logged_step, val_step

    loop.make_step_functions = make_step_functions


def main():
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    from asnet_keras.data import pipeline
    from asnet_keras.training import loop

    _observe_batches(tf, pipeline)
    _observe_steps(loop)
    hold_after_backup.install()  # ASNET_TEST_HOLD_AFTER_BACKUP, if set
    from asnet_keras.commands import main as asnet

    sys.exit(asnet(["train", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
