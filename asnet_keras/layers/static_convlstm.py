"""A ConvLSTM for a static input: `keras.layers.ConvLSTM2D`'s result at a fraction of its cost.

ASNet's ConvLSTMs see the same feature map X at each of their T = 3 steps (paper §3.2), so

- the input-to-state convolutions W^X ∗ X (+ b) of Eqs. 2–5 are the same at every step:
  this layer computes them once, as one convolution with 4F outputs;
- at step 1 the state is zero (H_0 = C_0 = 0), so W^H ∗ H_0 = 0 and f_1 ∘ C_0 = 0: this
  layer skips the state-to-state convolution and the forget gate there.

Both are exact identities, so the result equals a `ConvLSTM2D` run on X repeated T times
(`return_sequences=False`), and the cost of the recurrence drops from T·(C_in + F) to
C_in + (T − 1)·F input channels' worth of 3×3 convolutions with 4F outputs (docs/model.md §1.1).

The variables are a `ConvLSTM2D`'s: `kernel` (k, k, C_in, 4F), `recurrent_kernel`
(k, k, F, 4F), `bias` (4F,), created in that order, gates in the order i, f, c, o, forget
bias initialised to 1. `get_weights()` / `set_weights()` lists therefore move between the two
classes unchanged, and `.weights.h5` files do too (see `save_own_variables`).
"""

import re

import keras
from keras import ops

# The group a layer's weights get in a `.weights.h5` / `.keras` file is named after its
# class (snake case, numbered per class in creation order; docs/framework_notes.md §4): ours are
# "static_conv_lstm2d[_N]/vars/{0,1,2}", a ConvLSTM2D's "conv_lstm2d[_N]/cell/vars/{0,1,2}".
_OWN_ENTRY = re.compile(r"^(?P<parent>.*?/?)static_conv_lstm2d(?P<index>_\d+)?$")
_STOCK_VARS = "{parent}conv_lstm2d{index}/cell/vars"


@keras.saving.register_keras_serializable(package="asnet_keras")
class StaticConvLSTM2D(keras.layers.Layer):
    """ConvLSTM (paper Eqs. 2–6) run for `time_steps` steps on one unchanging input map.

    A drop-in for `keras.layers.ConvLSTM2D(filters, kernel_size, padding="same",
    return_sequences=False)` applied to its input repeated `time_steps` times, except that
    it takes the 4-D map itself. With W^X ∗ X + b computed once and H_0 = C_0 = 0, step t is

        i_t = σ(W^X_i ∗ X + W^H_i ∗ H_{t−1} + b_i)              (Eq. 2)
        f_t = σ(W^X_f ∗ X + W^H_f ∗ H_{t−1} + b_f)              (Eq. 3)
        o_t = σ(W^X_o ∗ X + W^H_o ∗ H_{t−1} + b_o)              (Eq. 4)
        C_t = f_t ∘ C_{t−1} + i_t ∘ tanh(W^X_c ∗ X + W^H_c ∗ H_{t−1} + b_c)   (Eq. 5)
        H_t = o_t ∘ tanh(C_t)                                   (Eq. 6)

    and the layer returns H_T. At t = 1 the W^H terms and f_1 ∘ C_0 are exactly zero and
    are not computed. σ is `recurrent_activation` (the paper's logistic sigmoid; Keras 2's
    hard sigmoid, `asnet_keras.model.blocks.hard_sigmoid_keras2`, for the released weights), tanh
    is `activation`. The state-to-state convolutions are always stride 1, "same", as in
    `ConvLSTM2D`.

    Differences from `ConvLSTM2D`: the input is (batch, H, W, C) rather than
    (batch, time, H, W, C); `padding` defaults to "same" (ASNet's only use); there is no
    dropout, `return_sequences` or `return_state`.

    Args:
        filters: hidden width F.
        kernel_size: int or (kh, kw), for both convolutions.
        time_steps: number of steps T ≥ 1 (ASNet: 3).
        strides, padding, data_format, dilation_rate: of the input-to-state convolution,
            as in `ConvLSTM2D`.
        activation: the tanh of Eqs. 5–6 (string or callable).
        recurrent_activation: the σ of Eqs. 2–4 (string or callable, e.g. "sigmoid" or
            `hard_sigmoid_keras2`); serialised either way.
        use_bias, unit_forget_bias: as in `ConvLSTM2D` (forget-gate bias starts at 1).
        kernel_*, recurrent_*, bias_*: initializers, regularizers and constraints of the
            three variables, as in `ConvLSTM2D`.
    Input shape:
        (batch, H, W, C_in) for "channels_last", (batch, C_in, H, W) for "channels_first".
    Output shape:
        (batch, H', W', filters) (or channels first), H' = H for "same" padding, stride 1.

    Example:
        >>> layer = StaticConvLSTM2D(64, 3, time_steps=3)
        >>> layer(keras.ops.ones((2, 14, 14, 65))).shape
        (2, 14, 14, 64)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        time_steps=3,
        strides=1,
        padding="same",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(filters) < 1:
            raise ValueError(f"filters={filters!r}: pass a positive number of hidden channels.")
        if int(time_steps) < 1:
            raise ValueError(f"time_steps={time_steps!r}: pass at least 1 (ASNet uses 3).")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.time_steps = int(time_steps)
        self.strides = _pair(strides, "strides")
        self.padding = str(padding).lower()
        if self.padding not in ("same", "valid"):
            raise ValueError(f"padding={padding!r}: pass 'same' or 'valid'.")
        self.data_format = str(data_format or keras.config.image_data_format()).lower()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"data_format={data_format!r}: pass 'channels_last' or 'channels_first'."
            )
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self._channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(
                f"{self.name}: the channel axis of the input must be known; got {input_shape}."
            )
        gates = 4 * self.filters
        # Same names, shapes and creation order as ConvLSTM2D's cell: weight lists and
        # files move between the two classes unchanged.
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (channels, gates),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=self.kernel_size + (self.filters, gates),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(gates,),
                initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={self._channel_axis: channels})

    def _bias_initializer(self):
        """Gate biases i, f, c, o; the forget gate's starts at 1 when `unit_forget_bias`."""
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, filters = self.bias_initializer, self.filters

        def initializer(shape, dtype=None):
            return ops.concatenate(
                [
                    base((filters,), dtype=dtype),
                    ops.ones((filters,), dtype=dtype),
                    base((2 * filters,), dtype=dtype),
                ]
            )

        return initializer

    def call(self, inputs):
        axis = self._channel_axis
        sigma, tanh = self.recurrent_activation, self.activation
        # W^X ∗ X + b for all four gates at once: the same at every step (Eqs. 2–5).
        input_part = ops.conv(
            inputs,
            self.kernel,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
        )
        if self.use_bias:
            shape = [1, 1, 1, 1]
            shape[axis] = 4 * self.filters
            input_part = input_part + ops.reshape(self.bias, shape)

        # Step 1, H_0 = C_0 = 0: no state-to-state convolution, no forget gate.
        z_i, _, z_c, z_o = ops.split(input_part, 4, axis=axis)
        cell = sigma(z_i) * tanh(z_c)  # Eq. 5 with C_0 = 0
        hidden = sigma(z_o) * tanh(cell)  # Eqs. 4, 6

        for _ in range(1, self.time_steps):
            gates = input_part + ops.conv(
                hidden, self.recurrent_kernel, padding="same", data_format=self.data_format
            )
            z_i, z_f, z_c, z_o = ops.split(gates, 4, axis=axis)
            cell = sigma(z_f) * cell + sigma(z_i) * tanh(z_c)  # Eqs. 2, 3, 5
            hidden = sigma(z_o) * tanh(cell)  # Eqs. 4, 6
        return hidden

    def compute_output_shape(self, input_shape):
        spatial = input_shape[1:3] if self.data_format == "channels_last" else input_shape[2:4]
        out = []
        for size, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if size is None:
                out.append(None)
            elif self.padding == "same":
                out.append((size + s - 1) // s)
            else:
                out.append((size - d * (k - 1) - 1) // s + 1)
        if self.data_format == "channels_last":
            return (input_shape[0], *out, self.filters)
        return (input_shape[0], self.filters, *out)

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "time_steps": self.time_steps,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": serialize(self.kernel_regularizer),
            "recurrent_regularizer": serialize(self.recurrent_regularizer),
            "bias_regularizer": serialize(self.bias_regularizer),
            "kernel_constraint": serialize(self.kernel_constraint),
            "recurrent_constraint": serialize(self.recurrent_constraint),
            "bias_constraint": serialize(self.bias_constraint),
        }

    # ---- weight files shared with ConvLSTM2D ------------------------------------------
    #
    # Keras files key a layer's variables by its class (module docstring), so by default
    # a ConvLSTM2D file has nothing at our path and vice versa. Two small bridges make
    # `model.load_weights` work both ways between the `static` and `stock` ASNet graphs,
    # where the i-th StaticConvLSTM2D stands where the i-th ConvLSTM2D stands:
    # - saving also links our variables (an HDF5 hard link, no copy) at the path the
    #   ConvLSTM2D in our place would use, unless that path is taken (a model that holds
    #   both classes): the links are made when the file is closed, once every real
    #   layer has its group;
    # - loading from a file with nothing at our path reads that ConvLSTM2D path instead.
    # Stores other than a single HDF5 file (sharded, npz) get neither; use
    # `asnet_keras.layers.copy_weights_by_name` between built models there.

    def save_own_variables(self, store):
        super().save_own_variables(store)
        entry = _h5_entry(store)
        if entry is not None:
            h5_file, path = entry
            stock = _stock_vars_path(path)
            if stock is not None:
                _link_when_closed(store, h5_file, f"{path}/vars", stock)

    def load_own_variables(self, store):
        if len(store.keys()) == 0 and self.built:
            entry = _h5_entry(store)
            if entry is not None:
                h5_file, path = entry
                stock = _stock_vars_path(path)
                if stock is not None and stock in h5_file:
                    group = h5_file[stock]
                    store = {key: group[key][()] for key in group.keys()}
        super().load_own_variables(store)


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name}={value!r}: pass an int or a pair of ints.")
    return value


def _h5_entry(store):
    """(h5py file, entry path) of a single-file HDF5 weights store, else None."""
    h5_file = getattr(store, "h5_file", None)
    path = getattr(store, "_h5_entry_path", None)
    if h5_file is None or not isinstance(path, str) or hasattr(store, "sharding_config"):
        return None
    return h5_file, path


def _stock_vars_path(path):
    """'…/static_conv_lstm2d_3' → '…/conv_lstm2d_3/cell/vars' (None if not ours)."""
    match = _OWN_ENTRY.match(path)
    if match is None:
        return None
    return _STOCK_VARS.format(parent=match["parent"], index=match["index"] or "")


def _link_when_closed(store, h5_file, source, target):
    """Hard-link `source` at `target` just before `store` closes, if `target` is free."""
    pending = store.__dict__.setdefault("_asnet_stock_links", [])
    if not pending:
        close = store.close

        def close_with_links():
            for src, dst in pending:
                layer_group = dst.rsplit("/", 2)[0]  # …/conv_lstm2d_N
                if layer_group not in h5_file and src in h5_file:
                    h5_file[dst] = h5_file[src]
            close()

        store.close = close_with_links
    pending.append((source, target))
