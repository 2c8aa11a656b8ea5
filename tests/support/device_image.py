"""A Python environment holding only what a lent GPU machine would (docs/backends.md §7).

The machines' image has JAX with CUDA, NumPy, SciPy, OpenCV, h5py and many more, but no
TensorFlow and no Keras (`tools/gpu_image_packages.txt`); `tools/gpu_wheels.sh` carries
Keras there with what it needs that the image lacks (`carried()`). `image_venv(folder)`
makes a virtual environment whose site-packages links to the packages of this one that
are on either list, and to nothing else: there `import tensorflow` fails and
`importlib.util.find_spec("tensorflow")` is None, as on the machine, in the process and
in every child it starts. Versions are this environment's, not the image's (JAX 0.10 here,
0.11 there): only the set of importable packages is the machine's.
"""

import functools
import importlib.metadata
import os
import re
import subprocess
import sys

from packaging.requirements import Requirement

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE_LIST = os.path.join(REPO, "tools", "gpu_image_packages.txt")
LOCK = os.path.join(REPO, "requirements", "lock-cpu.txt")


def normal(name):
    """A distribution name as PEP 503 compares it ('ML_Dtypes' -> 'ml-dtypes')."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def image_packages():
    """The distributions of the machines' image, normalised names."""
    with open(IMAGE_LIST, encoding="utf-8") as file:
        return frozenset(normal(line.split("==")[0].strip()) for line in file
                         if line.strip() and not line.startswith("#"))


def locked_versions():
    """{distribution: version} pinned in requirements/lock-cpu.txt."""
    pins = {}
    with open(LOCK, encoding="utf-8") as file:
        for line in file:
            match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
            if match:
                pins[normal(match[1])] = match[2]
    return pins


@functools.cache
def carried():
    """Keras and every distribution it needs, directly or not, that the image lacks (what
    tools/gpu_wheels.sh downloads), read from the installed packages' metadata."""
    found, queue = set(), ["keras"]
    while queue:
        name = normal(queue.pop())
        if name in found:
            continue
        found.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            if normal(requirement.name) not in image_packages():
                queue.append(requirement.name)
    return frozenset(found)


def image_venv(folder):
    """A virtual environment in `folder` with the image's packages and the carried wheels
    (those installed here) and nothing else; returns its Python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = os.path.join(str(folder), "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    wanted = image_packages() | carried()
    for distribution in importlib.metadata.distributions():
        if normal(distribution.metadata["Name"]) not in wanted:
            continue
        tops = {path.parts[0] for path in distribution.files or [] if path.parts[0] != ".."}
        for top in tops:
            source, target = distribution.locate_file(top), os.path.join(site, top)
            if os.path.exists(source) and not os.path.lexists(target):
                os.symlink(source, target)
    return python
