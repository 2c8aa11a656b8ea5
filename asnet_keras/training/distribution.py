"""The tf.distribute strategy of a run and this process's role in it.

One device (`none`), several devices of one host (`mirrored`) or several hosts
(`multiworker`, configured by TF_CONFIG); docs/framework_notes.md says why the loop is
our own rather than Keras' `fit` under these strategies.
"""

import os


def make_strategy(config):
    """The tf.distribute strategy; must run before any other TensorFlow op."""
    import tensorflow as tf

    if config.cpu_devices and config.cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * config.cpu_devices
            )
        except RuntimeError as error:
            raise ValueError(
                f"--cpu-devices {config.cpu_devices}: TensorFlow was already initialised in "
                f"this process ({error}); start a fresh process."
            ) from None
    if config.strategy == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy multiworker needs the TF_CONFIG environment variable on every "
                'worker, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
                '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\'.'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if config.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(
            devices=cpus, cross_device_ops=tf.distribute.ReductionToOneDevice()
        )
    return tf.distribute.get_strategy()


def worker_role(strategy):
    """(is_chief, worker index) under `strategy` (single-host: (True, 0))."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return is_chief, task_id
