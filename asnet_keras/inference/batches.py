"""Running a model over images in batches (step 3 of `asnet_keras.inference`).

Memory is bounded by one batch of images and their outputs, whatever the number of
images.
"""

import numpy as np

from asnet_keras.inference.images import DEFAULT_INPUT_SIZE, resize_to_input


def model_input_size(model, default=None):
    """The model's square input side, or `default` (then 224) if its input is unsized."""
    shape = model.inputs[0].shape
    height, width = shape[1], shape[2]
    if height is not None and width is not None:
        if height != width:
            raise ValueError(f"the model input is {height}×{width}; only square inputs are used")
        return int(height)
    return int(default or DEFAULT_INPUT_SIZE)


def output_names(model):
    """The model's output names in output order."""
    return list(model.output_names)


def run_batches(model, items, read, batch_size=8, input_size=None, preprocess=None):
    """Run `model` over `items` in batches; yield `(item, image, maps)` per item, in order.

    Args:
        model: a Keras model with raw-RGB input and named outputs.
        items: iterable of anything `read` accepts (paths, `PreparedSample`s, …).
        read: item → RGB uint8 (H, W, 3) (or any array `preprocess` accepts, e.g. the
            2-D grey of `asnet_keras.released.reading.read_image_released`). An exception
            it raises is yielded in place of the image (`(item, exc, None)`), so one bad
            file does not stop the run.
        batch_size: images per forward pass (memory is bounded by one batch).
        input_size: the square model input side (default: the model's own).
        preprocess: image → float32 (S, S, 3) model input; default `resize_to_input`.

    Yields:
        `(item, image, maps)`: the RGB uint8 image and a dict output name → float32
        (h, w) map at the network's resolution; or `(item, exception, None)`.
    """
    size = model_input_size(model, input_size)
    names = output_names(model)
    prepare = preprocess or (lambda image: resize_to_input(image, size))
    batch = []

    def flush():
        inputs = np.stack([prepare(image) for _, image in batch])
        outputs = model.predict_on_batch(inputs)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs] if not isinstance(outputs, dict) else [outputs[n] for n in names]
        outputs = [np.asarray(o) for o in outputs]
        for i, (item, image) in enumerate(batch):
            yield item, image, {name: out[i, ..., 0] for name, out in zip(names, outputs)}
        batch.clear()

    for item in items:
        try:
            image = read(item)
        except Exception as err:  # reported by the caller, by name
            yield from flush() if batch else ()
            yield item, err, None
            continue
        batch.append((item, image))
        if len(batch) == batch_size:
            yield from flush()
    if batch:
        yield from flush()
