"""Eq. 13, and the training and validation steps built on it.

`eq13` is the one place where the per-output losses are weighted by the label-presence
weights (y_A for fixation outputs, y_S for saliency outputs) and summed. Everything that
trains or times training goes through it: the trainer's distributed steps
(`make_step_functions`), `benchmarks/train_step.py`, and — through the same per-output
losses and the same weighting in Keras' compiled loss — `compile_asnet` + `fit`
(`tests/training/test_steps.py` checks that both give the same loss on the same batch).

The global batch is split across replicas; each replica's per-sample losses are divided
by the global batch size and summed across replicas, so a step is the same at any
replica count (batch-norm statistics aside, which `sync_batchnorm` handles).
"""


def per_sample_losses(output_names, loss_variant="full"):
    """Each output's loss as a per-sample function (y_true, y_pred) → (batch,), in output
    order: KL for fixation outputs, Eq. 7 (of `loss_variant`) for saliency outputs."""
    from asnet_keras.model.losses import asnet_losses  # Keras: loaded when steps are built

    losses = asnet_losses(list(output_names), loss_variant)
    return [_per_sample(losses[name]) for name in output_names]


def eq13(loss_fns, targets, predictions, weights):
    """Eq. 13 per sample: L = Σ_o w_o · L_o(target_o, prediction_o).

    Args:
        loss_fns: per-sample loss of each output (`per_sample_losses`), in output order.
        targets, predictions: one (batch, h, w, 1) tensor per output, in output order
            (predictions are cast to float32, so mixed precision changes no loss).
        weights: one (batch,) tensor per output: 1 where the label exists, 0 where not.
    Returns:
        (total, per_output): total (batch,), and the list of weighted per-output losses,
        (batch,) each.
    """
    from keras import ops

    per_output = [
        fn(t, ops.cast(p, "float32")) * w
        for fn, t, p, w in zip(loss_fns, targets, predictions, weights)
    ]
    total = per_output[0]
    for value in per_output[1:]:
        total = total + value
    return total, per_output


def make_step_functions(strategy, model, optimizer, loss_variant, global_batch, jit_compile=False):
    """The distributed training and validation steps (Eq. 13 under tf.distribute).

    Args:
        strategy: the tf.distribute strategy the model and optimizer were built under.
        model, optimizer: an ASNet model and its (built) optimizer.
        loss_variant: Table 5 saliency loss variant.
        global_batch: images per step over all replicas.
        jit_compile: XLA-compile the training step.
    Returns:
        (train_step, val_step): `train_step(distributed_iterator)` runs one step and
        returns (1 + outputs,) float32: the loss and each output's loss, averaged over the
        global batch; `val_step(distributed_batch)` with (image, targets, weights, valid)
        returns (2 + outputs,): Σ weighted loss, Σ per output, Σ valid (sums, not means).
    """
    import keras
    import tensorflow as tf

    loss_fns = per_sample_losses(model.output_names, loss_variant)
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def replica_train_step(image, targets, weights):
        with tf.GradientTape() as tape:
            predictions = model(image, training=True)
            total, per_output = eq13(loss_fns, targets, predictions, weights)
            loss = tf.nn.compute_average_loss(total, global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            objective = optimizer.scale_loss(loss) if scaled else loss
        gradients = tape.gradient(objective, model.trainable_variables)
        # Every gradient before the first update: the same step gives the same numbers in
        # every process, so a resumed run equals an uninterrupted one (docs/framework_notes.md §8).
        with tf.control_dependencies(gradients):
            gradients = [tf.identity(g) for g in gradients]
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return tf.stack(
            [loss] + [tf.nn.compute_average_loss(v, global_batch_size=global_batch)
                      for v in per_output]
        )

    def replica_val_step(image, targets, weights, valid):
        predictions = model(image, training=False)
        _, per_output = eq13(loss_fns, targets, predictions, weights)
        sums = [tf.reduce_sum(v) for v in per_output]
        return tf.stack([tf.add_n(sums)] + sums + [tf.reduce_sum(valid)])

    # No Python control flow depends on tensors here: autograph off saves seconds of tracing.
    @tf.function(jit_compile=jit_compile or None, autograph=False)
    def train_step(iterator):
        values = strategy.run(replica_train_step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None)

    @tf.function(autograph=False)
    def val_step(batch):
        values = strategy.run(replica_val_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None)

    return train_step, val_step


def _per_sample(loss):
    """A loss as a per-sample function (batch,) (Loss objects without their reduction)."""
    import keras

    return loss.call if isinstance(loss, keras.losses.Loss) else loss


def single_device_step(model, batch_size, *, loss_variant="full", learning_rate=1e-4,
                       jit_compile=False):
    """The trainer's training step on this process's default device, on fixed inputs.

    For benchmarks and tests that must time or check exactly what `train` runs: the same
    `make_step_functions` step, with an Adam optimizer built the trainer's way.

    Returns:
        `step(image, targets, weights) -> (1 + outputs,) numpy losses`, where targets and
        weights are tuples in output order (as the input pipeline yields them).
    """
    import keras
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(model.trainable_variables)
    train_step, _ = make_step_functions(strategy, model, optimizer, loss_variant, batch_size,
                                        jit_compile)

    def step(image, targets, weights):
        batch = tf.data.Dataset.from_tensors((image, tuple(targets), tuple(weights)))
        return train_step(iter(strategy.experimental_distribute_dataset(batch))).numpy()

    return step
