"""Training and evaluation data (docs/datasets.md §10, the prepared layout).

- `layout`: reading the prepared layout that `asnet prepare` writes (pure Python
  and numpy): splits, ids, `PreparedSample`s, fixations, meta.json.
- `pipeline`: the `tf.data` training and validation pipelines built on it (imports
  TensorFlow; import it explicitly).
"""
