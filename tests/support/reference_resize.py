"""The model's input resize written out in numpy, for tests that check what the network
is given without asking the code under test: bilinear with antialiasing, aspect ratio not
kept, clipped to 0–255 (docs/model.md §3, "Resizing"; TensorFlow's
``tf.image.resize(..., antialias=True)``).

Per axis of n input and m output pixels (scale s = m / n), output pixel i is centred on
input coordinate c = (i + 0.5) / s, pixel edges at integers; input pixel j (centre j + 0.5)
weighs max(0, 1 − |j + 0.5 − c| / r) with the triangle's radius r = max(1 / s, 1) (widened
when shrinking: the antialiasing), the weights of each output pixel normalised to sum to 1
over the pixels inside the image.
"""

import numpy as np


def tent_weights(n_in, n_out):
    """(n_out, n_in) weights of one axis."""
    scale = n_out / n_in
    radius = max(1.0 / scale, 1.0)
    centres = (np.arange(n_out) + 0.5) / scale
    weights = np.maximum(0.0, 1.0 - np.abs(np.arange(n_in)[None, :] + 0.5 - centres[:, None])
                         / radius)
    return weights / weights.sum(axis=1, keepdims=True)


def model_input(image, size):
    """An RGB (H, W, 3) image as the float (size, size, 3) network input, values 0–255."""
    rows = tent_weights(image.shape[0], size)
    cols = tent_weights(image.shape[1], size)
    resized = np.einsum("ih,hwc,jw->ijc", rows, image.astype(np.float64), cols)
    return np.clip(resized, 0.0, 255.0)
