"""Gradients and backend checks that work under every Keras backend.

The model, layer and loss tests run under TensorFlow, JAX and (when installed) torch
(`make test` runs them under TensorFlow and JAX, `make test-torch` under torch). Where a
test needs a gradient it calls `value_and_gradients`, which uses the current backend's
own differentiation: `tf.GradientTape`, `jax.value_and_grad` through a
`keras.StatelessScope`, or `torch.autograd.grad`.
"""

import importlib.util

import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")


def backend():
    import keras

    return keras.backend.backend()


def installed(name):
    """True when the package of backend `name` can be imported (without importing it)."""
    return importlib.util.find_spec(name) is not None


def value_and_gradients(fn, inputs=(), variables=()):
    """The value of `fn(*inputs)` and its gradients, under the current Keras backend.

    Args:
        fn: computes a scalar from `inputs` (arrays) with `keras.ops` / Keras layers; it
            may read `variables`.
        inputs: numpy arrays to differentiate with respect to (passed to `fn` as tensors).
        variables: Keras variables to differentiate with respect to (e.g. a model's
            `trainable_weights`).
    Returns:
        (value, input_gradients, variable_gradients): a float, and float32 numpy arrays
        in the order given (zeros where the value does not depend on one).
    """
    name = backend()
    inputs = [np.asarray(x, "float32") for x in inputs]
    variables = list(variables)
    if name == "tensorflow":
        value, grads = _tensorflow(fn, inputs, variables)
    elif name == "jax":
        value, grads = _jax(fn, inputs, variables)
    elif name == "torch":
        value, grads = _torch(fn, inputs, variables)
    else:
        raise ValueError(f"no gradient helper for the Keras backend {name!r}")
    shapes = [x.shape for x in inputs] + [tuple(v.shape) for v in variables]
    grads = [
        np.zeros(shape, "float32") if g is None else np.asarray(g, "float32")
        for g, shape in zip(grads, shapes, strict=True)
    ]
    return float(value), grads[: len(inputs)], grads[len(inputs):]


def _tensorflow(fn, inputs, variables):
    import tensorflow as tf

    tensors = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = fn(*tensors)
    grads = tape.gradient(value, tensors + variables)
    return value.numpy(), [None if g is None else g.numpy() for g in grads]


def _jax(fn, inputs, variables):
    import jax
    import keras

    def pure(input_values, variable_values):
        with keras.StatelessScope(state_mapping=list(zip(variables, variable_values, strict=True))):
            return fn(*input_values)

    value, (input_grads, variable_grads) = jax.jit(jax.value_and_grad(pure, argnums=(0, 1)))(
        [jax.numpy.asarray(x) for x in inputs], [v.value for v in variables]
    )
    return np.asarray(value), [np.asarray(g) for g in list(input_grads) + list(variable_grads)]


def _torch(fn, inputs, variables):
    import keras
    import torch

    tensors = [keras.ops.convert_to_tensor(x).detach().requires_grad_(True) for x in inputs]
    value = fn(*tensors)
    sources = tensors + [v.value for v in variables]
    grads = torch.autograd.grad(value, sources, allow_unused=True)
    return (
        value.detach().cpu().numpy(),
        [None if g is None else g.detach().cpu().numpy() for g in grads],
    )
