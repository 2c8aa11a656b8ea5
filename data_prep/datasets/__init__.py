"""One converter per dataset (docs/datasets.md §1-§8). Each module defines ``NAME``,
``ALIASES`` (folder/archive names that ``all`` recognises under RAW_ROOT), ``DOWNLOAD``
(where users get it) and ``convert(source, root, report, options) -> dict`` (extra
``meta.json`` fields), which calls :func:`data_prep.prepared.write_split` per split."""

from . import dut_omron, duts, ecssd, hku_is, mit1003, pascal_s, salicon, thus10k

#: In the order of docs/datasets.md.
MODULES = {m.NAME: m for m in (salicon, thus10k, dut_omron, pascal_s, mit1003, ecssd, hku_is, duts)}
