"""Exact rewrites of the converted OpenVINO graph for the CPU plugin (docs/deployment.md §6).

`ov.convert_model` turns the `static` Keras graph into an OpenVINO model that computes
what Keras computes, but two of its patterns run badly on OpenVINO's CPU plugin, and
worse once the model is quantized to INT8 (`asnet_keras.export.int8`). Both are
rewritten before the IR is saved, by `optimise_for_cpu`; each rewrite gives the same
numbers (the float32 outputs were equal bit for bit where measured; the tests assert
1e-6, and the export's check holds every IR to 1e-4 of Keras anyway):

- **One convolution per gate** (`separate_gate_convolutions`). `StaticConvLSTM2D`
  computes the four gate pre-activations of Eqs. 2–5 as one convolution with 4F
  output channels and splits the result along the channels. On the CPU plugin, whose
  convolutions keep channels last, that `Split` is a strided copy run by a reference
  kernel (tens of milliseconds per 224-px image) and leaves the gate sums and sigmoids
  as separate passes over memory. Each split part is a convolution with the matching
  F output channels of the weights (and bias), so the `Split` disappears and the
  plugin fuses sum and sigmoid into the convolutions.
- **Nearest-neighbour ×2 upsampling as `Interpolate`**
  (`nearest_upsampling_as_interpolate`). Keras' `UpSampling2D` is a `repeat` along
  rows and columns, which converts to `Unsqueeze`/`Tile`/`Reshape` chains. INT8
  quantization cannot carry a quantized tensor through `Tile`, so the `Concatenate`
  after each upsampling (⊕ of stages 4…1) stayed in floating point and so did the
  ConvLSTM's input convolution after it. An `Interpolate` (mode nearest, floor,
  asymmetric coordinates: output pixel (y, x) is input pixel (⌊y/2⌋, ⌊x/2⌋), exactly
  the repeat) is one kernel that quantized tensors pass through.

`gate_arithmetic(model)` names the element-wise products and sums of two computed
tensors: the ConvLSTM gate arithmetic, which INT8 quantization leaves in floating
point (docs/deployment.md §6).

Imports numpy; `openvino` when a rewrite runs (the export runs them when it writes an IR).
"""

import numpy as np

# Layout-only operations the converter emits for a Keras `repeat`-based upsampling.
_DATA_MOVES = ("Reshape", "Tile", "Unsqueeze", "Squeeze", "Transpose")
GATES = 4  # i, f, c, o (Eqs. 2–5), in Keras' ConvLSTM2D order
_CHANNEL_AXIS = 1  # the converted IR computes in NCHW


def _op_type(output):
    return output.get_node().get_type_name()


def _constant(output):
    """The numpy value of a Constant output, else None."""
    node = output.get_node()
    return node.get_data() if node.get_type_name() == "Constant" else None


def _gate_split(split):
    """(input, F) of a 4-way channel `Split` of gate pre-activations, else None."""
    if split.get_type_name() != "Split" or len(split.outputs()) != GATES:
        return None
    axis = _constant(split.input_value(1))
    shape = split.input_value(0).get_partial_shape()
    if axis is None or int(axis) not in (_CHANNEL_AXIS, _CHANNEL_AXIS - 4) \
            or shape.rank.is_dynamic or shape.rank.get_length() != 4 \
            or shape[_CHANNEL_AXIS].is_dynamic:
        return None
    channels = shape[_CHANNEL_AXIS].get_length()
    return (split.input_value(0), channels // GATES) if channels % GATES == 0 else None


def _operands(add):
    """The two inputs of an `Add`, as outputs."""
    return add.input_value(0), add.input_value(1)


def _gate_convolution(conv, gate, filters, ops):
    """A convolution like `conv` (4F output channels, constant weights) computing only
    the F output channels of gate `gate`, else None."""
    weights = _constant(conv.input_value(1))
    if weights is None or weights.shape[0] != GATES * filters:
        return None
    block = np.ascontiguousarray(weights[gate * filters:(gate + 1) * filters])
    attributes = conv.get_attributes()
    return ops.convolution(conv.input_value(0), ops.constant(block), attributes["strides"],
                           attributes["pads_begin"], attributes["pads_end"],
                           attributes["dilations"], attributes["auto_pad"])


class _InputPart:
    """W^X ∗ X + b of one ConvLSTM layer (an `Add` of a convolution and a constant
    (1, 4F, 1, 1) bias), gate by gate.

    A gate with a bias gets one tensor Conv(X, W_g) + b_g, shared by every step as in
    `StaticConvLSTM2D`. A gate whose bias is all zeros gets a new convolution for every
    use instead: OpenVINO deletes an `Add` of zeros, and the output of an INT8
    convolution shared by several gate sums is then miscomputed by the CPU plugin's
    low-precision transformations (docs/deployment.md §6.3). Trained weights have no
    all-zero gate bias, so this costs nothing there.
    """

    def __init__(self, conv, bias, filters, ops):
        self.conv, self.bias, self.filters, self.ops = conv, bias, filters, ops
        self.shared = {}

    @classmethod
    def of(cls, add, filters, ops):
        """The input part that `add` computes, else None."""
        conv, bias = _operands(add)
        if _op_type(conv) != "Convolution":
            conv, bias = bias, conv
        value = _constant(bias)
        if _op_type(conv) != "Convolution" or value is None \
                or value.shape != (1, GATES * filters, 1, 1) \
                or _gate_convolution(conv.get_node(), 0, filters, ops) is None:
            return None
        return cls(conv.get_node(), value, filters, ops)

    def gate(self, g):
        """The part of gate `g` (i, f, c, o = 0 … 3) for one use."""
        block = np.ascontiguousarray(self.bias[:, g * self.filters:(g + 1) * self.filters])
        if not np.any(block):
            return _gate_convolution(self.conv, g, self.filters, self.ops)
        if g not in self.shared:
            self.shared[g] = self.ops.add(
                _gate_convolution(self.conv, g, self.filters, self.ops), self.ops.constant(block))
        return self.shared[g]


def separate_gate_convolutions(model):
    """Replace each ConvLSTM gate `Split` by one convolution per gate; returns how many.

    Two forms are rewritten (module docstring), F the hidden width:
        step 1:        Split(Conv(X, W) + b)                → Conv(X, W_g) + b_g
        later steps:   Split((Conv(X, W) + b) + Conv(H, R))  → (Conv(X, W_g) + b_g) + Conv(H, R_g)
    with W_g, R_g, b_g the g-th block of F output channels (`_InputPart`). A `Split` of
    any other shape is left alone.
    """
    import openvino.opset13 as ops  # optional runtime, imported on use (`formats.require`)

    parts = {}  # the W^X ∗ X + b `Add`, by unique node name → `_InputPart` (or None)

    def input_part(add, filters):
        if add.get_name() not in parts:
            parts[add.get_name()] = _InputPart.of(add, filters, ops)
        return parts[add.get_name()]

    rewritten = 0
    for split in model.get_ordered_ops():
        found = _gate_split(split)
        if found is None or _op_type(found[0]) != "Add":
            continue
        gates, filters = found
        total = gates.get_node()
        part = input_part(total, filters)
        if part is not None:  # step 1
            tensors = [part.gate(g) for g in range(GATES)]
        else:  # a later step: (input part) + Conv(H, R)
            first, second = _operands(total)
            if _op_type(first) == "Convolution":
                first, second = second, first
            if _op_type(first) != "Add" or _op_type(second) != "Convolution":
                continue
            part = input_part(first.get_node(), filters)
            state = [_gate_convolution(second.get_node(), g, filters, ops) for g in range(GATES)]
            if part is None or state[0] is None:
                continue
            tensors = [ops.add(part.gate(g), state[g]) for g in range(GATES)]
        for g, tensor in enumerate(tensors):
            for target in list(split.output(g).get_target_inputs()):
                target.replace_source_output(tensor.output(0))
        rewritten += 1
    return _revalidated(model, rewritten)


def _repeat_source(output):
    """The 4-D tensor a chain of layout-only ops (with a `Tile`) upsamples ×2 into
    `output`, else None."""
    shape = output.get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 4 \
            or any(shape[i].is_dynamic for i in (1, 2, 3)):
        return None
    source, tiled = output, False
    while _op_type(source) in _DATA_MOVES:
        tiled = tiled or _op_type(source) == "Tile"
        source = source.get_node().input_value(0)
    small = source.get_partial_shape()
    if not tiled or small.rank.is_dynamic or small.rank.get_length() != 4 \
            or any(small[i].is_dynamic for i in (1, 2, 3)):
        return None
    same_channels = small[1].get_length() == shape[1].get_length()
    doubled = all(2 * small[i].get_length() == shape[i].get_length() for i in (2, 3))
    return source if same_channels and doubled else None


def nearest_upsampling_as_interpolate(model):
    """Replace each `repeat` ×2 upsampling that feeds a `Concat` by one nearest-neighbour
    `Interpolate` (module docstring); returns how many."""
    import openvino.opset13 as ops  # optional runtime, imported on use (`formats.require`)

    rewritten = 0
    for concat in model.get_ordered_ops():
        if concat.get_type_name() != "Concat":
            continue
        for target in concat.inputs():
            source = _repeat_source(target.get_source_output())
            if source is None:
                continue
            upsampled = ops.interpolate(
                source, np.array([2.0, 2.0], np.float32), "nearest", "scales",
                axes=np.array([2, 3], np.int64), coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")
            target.replace_source_output(upsampled.output(0))
            rewritten += 1
    return _revalidated(model, rewritten)


def _revalidated(model, rewritten):
    """`rewritten`, after the model's shapes and types are inferred again if it changed."""
    if rewritten:
        model.validate_nodes_and_infer_types()
    return rewritten


def optimise_for_cpu(model):
    """Both rewrites, in place; returns {rewrite: count} (the export records it)."""
    return {"gate_convolutions": separate_gate_convolutions(model),
            "upsampling_interpolate": nearest_upsampling_as_interpolate(model)}


def gate_arithmetic(model):
    """Friendly names of the element-wise `Multiply` and `Add` nodes whose two inputs
    are both computed 4-D tensors (no constant): in ASNet exactly the ConvLSTM gate
    arithmetic of Eqs. 2–6 (the sums of input and state parts, f ∘ C, i ∘ tanh(·),
    their sum, o ∘ tanh(C)); bias and preprocessing additions have a constant operand."""
    names = []
    for node in model.get_ordered_ops():
        if node.get_type_name() not in ("Multiply", "Add"):
            continue
        operands = [node.input_value(i) for i in range(node.get_input_size())]
        if any(_op_type(o) == "Constant" for o in operands):
            continue
        rank = node.get_output_partial_shape(0).rank
        if rank.is_static and rank.get_length() == 4:
            names.append(node.get_friendly_name())
    return names
