"""Names used across the package: ASNet's outputs and the paper's datasets.

Pure constants, no imports: every module that needs one of these names imports it from
here, so a name is written once.
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
