"""Training ASNet (paper §3.3): one `tf.distribute` loop for every scale.

- `config`: `TrainConfig` (every default the paper's, every value checked when it is
  made; the model's `ASNetOptions` as `model`), its config.json contents.
- `distribution`: the strategy (one device, mirrored, multi-worker) and the worker's role.
- `steps`: Eq. 13 and the distributed training and validation steps built on it.
- `run_folder`: what a run folder holds and its atomic writes (models, history, config).
- `summaries`: TensorBoard scalars without the tensorboard package.
- `loop`: `train`, the resumable epoch loop.

The command line is `asnet train`.
"""
