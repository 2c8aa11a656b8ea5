"""Copy weights between two built models layer by layer, by layer name.

`.weights.h5` files key variables by layer class and creation order (docs/framework_notes.md §4), so a
file moves between graphs only when their classes line up. This copies from one built
model to another by layer *name* instead, which is what the `static` and `stock` ASNet
graphs share (`convlstm_conv5` is a `StaticConvLSTM2D` in one and a `ConvLSTM2D` in the
other, with the same weight list). The exports (`asnet_keras.export`) use it.
"""


def copy_weights_by_name(source, target):
    """Set every weighted layer of `target` from the layer of the same name in `source`.

    Args:
        source: a built `keras.Model` holding the weights.
        target: a built `keras.Model` to receive them; it may use other layer classes
            (e.g. `ConvLSTM2D` for `StaticConvLSTM2D`) as long as names, weight order and
            shapes agree.
    Returns:
        list of the names of the layers copied, in `target` order.
    Raises:
        ValueError: a weighted layer of either model has no partner in the other, or the
            partners' weight lists differ in length or shapes; nothing is changed then.
    """
    source_layers = {layer.name: layer for layer in source.layers if layer.weights}
    target_layers = [layer for layer in target.layers if layer.weights]
    missing = [layer.name for layer in target_layers if layer.name not in source_layers]
    extra = sorted(set(source_layers) - {layer.name for layer in target_layers})
    if missing or extra:
        raise ValueError(
            f"Cannot copy weights from {source.name!r} to {target.name!r} by layer name: "
            f"layers only in the target {missing}, only in the source {extra}. Build both "
            "models with the same options (input size, heads, ablations)."
        )
    plan = []
    for layer in target_layers:
        values = source_layers[layer.name].get_weights()
        shapes = [tuple(v.shape) for v in layer.weights]
        if [tuple(v.shape) for v in values] != shapes:
            raise ValueError(
                f"Layer {layer.name!r}: the source holds weights of shapes "
                f"{[tuple(v.shape) for v in values]}, the target {shapes}. Build both "
                "models with the same options (input size, widths, configuration)."
            )
        plan.append((layer, values))
    for layer, values in plan:
        layer.set_weights(values)
    return [layer.name for layer, _ in plan]
