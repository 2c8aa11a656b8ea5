"""Names used across the package: ASNet's outputs, the paper's datasets, and the files of
the prepared layout.

Pure constants, no imports: every module that needs one of these names imports it from
here, so a name is written once. `data_prep` imports it too (it is the light bottom
layer of the package), so the writer and the reader of the prepared layout share one
definition.
"""

# Output names of the `paper` configuration, in output order: P, then Q5 … Q1 (named
# after the VGG block each saliency map comes from, as in Table 5).
FIXATION_OUTPUT = "fixation"  # P, the fixation map at H/16 (paper §3.1)
FINAL_OUTPUT = "saliency_conv1"  # Q1, the final saliency map at full size (Table 4's ASNet)
FIXATION_28_OUTPUT = "fixation_conv4"  # ASNet-28×28's fixation map at H/8 (paper §4.1)
OUTPUT_NAMES = (
    FIXATION_OUTPUT,
    "saliency_conv5",
    "saliency_conv4",
    "saliency_conv3",
    "saliency_conv2",
    FINAL_OUTPUT,
)

# The paper's training sets (§3.3) and its test sets (§4: Tables 2–4).
PAPER_TRAINING_DATASETS = ("salicon", "thus10k", "dut-omron")
PAPER_TEST_DATASETS = ("pascal-s", "mit1003", "ecssd", "hku-is")

# The synthetic stand-ins of the three training sources (`asnet prepare synthetic`,
# data_prep/synthetic.py): fixations only, masks only, both. Only the last has a test split.
SYNTHETIC_DATASETS = ("synthetic-fix", "synthetic-sod", "synthetic-both")
SYNTHETIC_TEST_DATASET = SYNTHETIC_DATASETS[2]

# The prepared layout (docs/datasets.md §10): `data_prep` writes it, `asnet_keras.data.layout`
# reads it. <root>/<dataset>/META_FILE; <root>/<dataset>/<split>/ holds LIST_FILE,
# <folder>/<id><suffix> for each folder of SUFFIXES that the dataset has, and FIXATIONS_FILE.
META_FILE = "meta.json"
LIST_FILE = "list.txt"  # the ids of the split, one a line, sorted
HOLDOUT_LIST = "list_holdout.txt"  # SALICON val: the fixed validation ids (docs/datasets.md §1)
FIXATIONS_FILE = "fixations.npz"
IMAGE_FOLDER = "images"  # RGB JPEG
MASK_FOLDER = "masks"  # salient-object mask, PNG {0, 255}
FIXPTS_FOLDER = "fixpts"  # fixation points, PNG 255 where fixated
FIXMAP_FOLDER = "fixmaps"  # fixation density, PNG scaled to a maximum of 255
SUFFIXES = {IMAGE_FOLDER: ".jpg", MASK_FOLDER: ".png", FIXPTS_FOLDER: ".png", FIXMAP_FOLDER: ".png"}
