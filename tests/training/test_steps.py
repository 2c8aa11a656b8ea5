"""One Eq. 13 for every training path: the trainer's step and `compile_asnet` + Keras'
`train_on_batch` give the same losses on the same batch, label weights included."""

import subprocess
import sys

import numpy as np
import pytest

from tests.support.training_runs import REPO, environment


def _batch(model, batch, size, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    targets, weights = [], []
    for name, shape in zip(model.output_names, model.output_shape, strict=True):
        shape = (batch,) + tuple(shape[1:])
        if name.startswith("fixation"):
            t = rng.uniform(0, 1, shape).astype("float32")
            t /= t.sum(axis=(1, 2, 3), keepdims=True)
            targets.append(t)
            weights.append(np.array([1, 0, 1], "float32"))  # image 2 has no fixations
        else:
            targets.append((rng.uniform(0, 1, shape) > 0.6).astype("float32"))
            weights.append(np.array([0, 1, 1], "float32"))  # image 1 has no mask
    return images, targets, weights


def test_trainer_step_and_fit_compute_the_same_eq13():
    import keras

    from asnet_keras.model.losses import compile_asnet
    from asnet_keras.model.options import ASNetOptions
    from asnet_keras.training.steps import single_device_step

    options = ASNetOptions(input_size=32)
    keras.utils.set_random_seed(0)
    trainer_model = options.build()
    keras.utils.set_random_seed(0)
    fit_model = options.build()
    images, targets, weights = _batch(trainer_model, 3, 32)

    ours = single_device_step(trainer_model, 3)(images, targets, weights)
    compile_asnet(fit_model)
    names = list(fit_model.output_names)
    keras_logs = fit_model.train_on_batch(
        images, list(targets), sample_weight=list(weights), return_dict=True,
    )
    # Loss per output: Σ_b w_b·L_b / batch in both (Keras' "sum_over_batch_size").
    assert np.isclose(ours[0], keras_logs["loss"], rtol=1e-5)
    for name, value in zip(names, ours[1:], strict=True):
        assert np.isclose(value, keras_logs[f"{name}_loss"], rtol=1e-5), name
    # The zero weights really remove the terms: fixation uses images 0 and 2 only.
    assert ours[1] > 0


# Two training steps on a fixed batch, the weights written to the file named by argv[1].
_TWO_STEPS = """
import sys
import keras
import numpy as np
from asnet_keras.model.options import ASNetOptions
from asnet_keras.training.steps import single_device_step
from tests.training.test_steps import _batch

keras.utils.set_random_seed(0)
model = ASNetOptions(input_size=32).build()
step = single_device_step(model, 3, learning_rate=3e-4)
batch = _batch(model, 3, 32)
step(*batch)
step(*batch)
np.savez(sys.argv[1], *[w.numpy() for w in model.weights])
"""


@pytest.mark.slow  # two fresh processes
def test_a_training_step_gives_the_same_weights_in_every_process(tmp_path):
    """Bit for bit, so a resumed run can equal an uninterrupted one (docs/framework_notes.md
    §8: without the barrier between the gradients and the updates, two processes differed
    by about 5e-7 after one step)."""
    paths = [str(tmp_path / f"weights{i}.npz") for i in range(2)]
    processes = [subprocess.Popen([sys.executable, "-c", _TWO_STEPS, path], cwd=REPO,
                                  env=environment(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for path in paths]
    for process in processes:
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
    first, second = (np.load(path) for path in paths)
    assert len(first.files) == len(second.files) > 0
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
