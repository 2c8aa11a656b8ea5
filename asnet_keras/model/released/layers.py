"""Custom layers of the `released` configuration (docs/released_model.md §1.2, §3).

Only one: `LearningPrior`, the 16 learned Gaussian prior maps of the authors' fixation
branch (a port of the layer ASNet took over from SAM). It is a registered serialisable
Keras object: a `.keras` file holding it loads once this module has been imported
(`import asnet_keras.model.released` imports it).
"""

import math

import keras
import numpy as np

# Keras 2's `K.epsilon()` default, fixed here so a user's keras.json cannot change the
# converted model (docs/released_model.md §3, §7 item 9).
KERAS2_EPSILON = 1e-7

# Call-time clip ranges of the four parameter blocks, in storage order μx, μy, σx, σy
# (docs/released_model.md §3 step 1).
CLIP_RANGES = ((0.25, 0.75), (0.35, 0.65), (0.1, 0.9), (0.2, 0.8))


@keras.saving.register_keras_serializable(package="asnet_keras")
class GaussianPriorInitializer(keras.initializers.Initializer):
    """The released `gaussian_priors_init` (docs/released_model.md §3, "Initialiser").

    For a (4·n,) weight: the first 2·n entries (μx then μy) uniform in [0.3, 0.7], the
    last 2·n (σx then σy) uniform in [0.05, 0.3]. Only matters when training from scratch;
    converted weights overwrite it.
    """

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        (size,) = shape
        if size % 4:
            raise ValueError(f"GaussianPriorInitializer: shape {shape} is not (4·n,).")
        half = size // 2
        ops = keras.ops
        low = np.array([0.3] * half + [0.05] * half, dtype="float32")
        high = np.array([0.7] * half + [0.3] * half, dtype="float32")
        unit = keras.random.uniform((size,), 0.0, 1.0, dtype="float32", seed=self.seed)
        # Through keras.ops: a numpy array on the left of a torch tensor is an error.
        value = ops.add(ops.convert_to_tensor(low), ops.multiply(unit, high - low))
        return ops.cast(value, dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package="asnet_keras")
class LearningPrior(keras.layers.Layer):
    """`nb_gaussian` learned Gaussian maps on the input's grid (docs/released_model.md §3).

    One weight `W` of shape (4·n,): W[0:n] = μx, W[n:2n] = μy, W[2n:3n] = σx,
    W[3n:4n] = σy (docs/released_model.md §1.2), clipped at call time to μx ∈ [0.25, 0.75],
    μy ∈ [0.35, 0.65], σx ∈ [0.1, 0.9], σy ∈ [0.2, 0.8]. Map k on an H×W grid, with
    e = H/W, e1 = (1 − e)/2, e2 = e1 + e, x[i, j] = j/(W − 1) and
    y[i, j] = e1 + i·(e2 − e1)/(H − 1):

        G_k = 1/(2π σx σy + ε) · exp(−[(x − μx)²/(2σx² + ε) + (y − μy)²/(2σy² + ε)]),

    then divided by its own maximum over the grid; ε = 1e-7. Computed in float32.

    Only the input's static height and width are read (in the released network a zero
    tensor of shape (1, 14, 14, 16); here the conv5_3 features), never its values; the
    maps are broadcast to the input's batch size.

    Input: (batch, H, W, C), H and W static and at least 2. Output: (batch, H, W, n).

    Example:
        >>> prior = LearningPrior(16, name="learning_prior_1")
        >>> prior(keras.ops.zeros((2, 14, 14, 512))).shape
        (2, 14, 14, 16)
    """

    def __init__(self, nb_gaussian=16, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.nb_gaussian = int(nb_gaussian)
        self.seed = seed

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None or height < 2 or width < 2:
            raise ValueError(
                f"{self.name}: input shape {tuple(input_shape)} has no static height and "
                "width of at least 2; the prior grid is taken from them (build the model "
                "with a fixed input size, e.g. 224×224)."
            )
        self.W = self.add_weight(
            shape=(4 * self.nb_gaussian,),
            initializer=GaussianPriorInitializer(self.seed),
            name="W",
            dtype="float32",
        )

    def call(self, inputs):
        n = self.nb_gaussian
        height, width = int(inputs.shape[1]), int(inputs.shape[2])
        ops = keras.ops
        params = ops.cast(self.W, "float32")
        mu_x, mu_y, sigma_x, sigma_y = (
            ops.clip(params[b * n : (b + 1) * n], low, high)  # §3 step 1
            for b, (low, high) in enumerate(CLIP_RANGES)
        )
        # §3 steps 2–3, (H, W, 1) each; as tensors (numpy − torch tensor is an error).
        grid_x, grid_y = (ops.convert_to_tensor(g) for g in prior_grids(height, width))
        eps = KERAS2_EPSILON
        scale = 1.0 / (2.0 * math.pi * sigma_x * sigma_y + eps)
        exponent = ops.square(grid_x - mu_x) / (2.0 * ops.square(sigma_x) + eps) + ops.square(
            grid_y - mu_y
        ) / (2.0 * ops.square(sigma_y) + eps)
        gaussian = scale * ops.exp(-exponent)  # §3 step 4, (H, W, n)
        gaussian = gaussian / ops.max(gaussian, axis=(0, 1), keepdims=True)  # step 5
        batch = ops.shape(inputs)[0]
        maps = ops.broadcast_to(gaussian[None], (batch, height, width, n))  # step 6
        return ops.cast(maps, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[2], self.nb_gaussian)

    def get_config(self):
        config = super().get_config()
        config.update(nb_gaussian=self.nb_gaussian, seed=self.seed)
        return config


def prior_grids(height, width):
    """The x and y grids of docs/released_model.md §3 steps 2–3, as float32 (H, W, 1) arrays.

    Built like Keras 2's `_linspace` (arange · step + start, in float32): x spans [0, 1]
    along the width (column index), y spans [e1, e2] along the height (row index).
    """
    f32 = np.float32
    ratio = f32(height) / f32(width)
    e1 = (f32(1.0) - ratio) / f32(2.0)
    e2 = e1 + ratio
    step_x = (f32(1.0) - f32(0.0)) / (f32(width) - f32(1.0))
    step_y = (e2 - e1) / (f32(height) - f32(1.0))
    x = np.arange(width, dtype=f32) * step_x
    y = np.arange(height, dtype=f32) * step_y + e1
    grid_x = np.broadcast_to(x[None, :, None], (height, width, 1)).astype(f32)
    grid_y = np.broadcast_to(y[:, None, None], (height, width, 1)).astype(f32)
    return grid_x, grid_y
