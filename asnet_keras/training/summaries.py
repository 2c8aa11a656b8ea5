"""TensorBoard scalars written with TensorFlow's core API (no tensorboard package)."""


def write_scalar(writer, tag, value, step):
    """Write one TensorBoard scalar without needing the `tensorboard` package.

    `tf.summary.scalar` lives in the tensorboard package, which this project does not
    require; this writes the same event (the "scalars" plugin's metadata) with
    TensorFlow's core `tf.summary.write`, which TensorBoard reads as a scalar.
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    with writer.as_default():
        tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=metadata)
    writer.flush()
