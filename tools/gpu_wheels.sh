#!/usr/bin/env bash
# Write into .whl/ (ignored by git) the wheels a lent GPU machine lacks for the GPU check,
# benchmarks/gpu_check.py (docs/backends.md §7): Keras at the version
# requirements/lock-cpu.txt pins, and every requirement of it, and of what that pulls in,
# that the machine's image does not have (tools/gpu_image_packages.txt), each at its
# locked version. Nothing the image already has is carried.
#
#   tools/gpu_wheels.sh                    # download from PyPI into .whl/, print the sizes
#   tools/gpu_wheels.sh --verify PYTHON    # then install them into an empty --target with
#                                          # PYTHON (best a 3.12 with JAX) and import Keras
#
# Wheels are for CPython 3.12 on manylinux x86-64 (the image's Python), pure-Python ones
# py3-none-any. Requirements are read from each wheel's METADATA, extras and markers that
# do not hold on that Python left out. Stops (exit 1) when a needed package has no pin in
# the lock, or the set exceeds the 64 MiB a call may carry.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.whl"
LOCK="$ROOT/requirements/lock-cpu.txt"
IMAGE="$ROOT/tools/gpu_image_packages.txt"
LIMIT_MIB=64
if [[ -x "$ROOT/.venv/bin/python" ]]; then PY_DEFAULT="$ROOT/.venv/bin/python"; else PY_DEFAULT=python3; fi
PY="${PYTHON:-$PY_DEFAULT}"  # the Python whose pip downloads (any version: --python-version)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64
           manylinux1_x86_64)

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
VERIFY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --verify) [[ $# -ge 2 ]] || { echo "--verify needs a Python interpreter" >&2; exit 2; }
              VERIFY="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

normal() { tr 'A-Z_.' 'a-z--' <<< "$1"; }  # a distribution name as PEP 503 compares it

in_image() { grep -v '^#' "$IMAGE" | sed 's/==.*//' | grep -qx "$(normal "$1")"; }

pin() {  # the version requirements/lock-cpu.txt pins for a distribution, or nothing
  awk -F'==' -v want="$(normal "$1")" '
    /^[A-Za-z0-9]/ { name = tolower($1); gsub(/[_.]/, "-", name)
                     if (name == want) { split($2, rest, " "); print rest[1]; exit } }' "$LOCK"
}

requirements() {  # the distributions a wheel needs on CPython 3.12, Linux x86-64
  "$PY" - "$1" <<'PYTHON'
import sys
import zipfile

try:
    from packaging.requirements import Requirement
except ImportError:  # pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement

ENVIRONMENT = {"python_version": "3.12", "python_full_version": "3.12.3", "os_name": "posix",
               "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
               "implementation_name": "cpython", "platform_python_implementation": "CPython",
               "extra": ""}
with zipfile.ZipFile(sys.argv[1]) as wheel:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = wheel.read(name).decode("utf-8")
for line in metadata.splitlines():
    if line.startswith("Requires-Dist:"):
        requirement = Requirement(line.split(":", 1)[1].strip())
        if requirement.marker is None or requirement.marker.evaluate(ENVIRONMENT):
            print(requirement.name)
PYTHON
}

mkdir -p "$DEST"
if ! git -C "$ROOT" check-ignore -q "$DEST/x.whl"; then
  echo "$DEST is not ignored by git: add /.whl/ to .gitignore first" >&2; exit 1
fi
rm -f "$DEST"/*.whl  # one version of each: two would stop the install there

queue=(keras)
done_list=" "
while [[ ${#queue[@]} -gt 0 ]]; do
  name="$(normal "${queue[0]}")"; queue=("${queue[@]:1}")
  [[ "$done_list" == *" $name "* ]] && continue
  done_list+="$name "
  version="$(pin "$name")"
  if [[ -z "$version" ]]; then
    echo "$name: needed on the GPU machine but not pinned in $LOCK" >&2; exit 1
  fi
  platform_args=()
  for platform in "${PLATFORMS[@]}"; do platform_args+=(--platform "$platform"); done
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp "${platform_args[@]}" -d "$DEST" "$name==$version"
  wheel="$(find "$DEST" -maxdepth 1 -iname "$(tr '-' '_' <<< "$name")-$version-*.whl" | head -n 1)"
  [[ -n "$wheel" ]] || { echo "$name==$version: no wheel in $DEST after the download" >&2; exit 1; }
  echo "carry $(basename "$wheel")"
  while read -r needed; do
    [[ -z "$needed" ]] && continue
    if in_image "$needed"; then
      echo "  $name needs $needed: the image has it"
    else
      echo "  $name needs $needed: carried"
      queue+=("$needed")
    fi
  done < <(requirements "$wheel")
done

total=0
for wheel in "$DEST"/*.whl; do
  size=$(stat -c %s "$wheel"); total=$((total + size))
  printf '%10d  %s\n' "$size" "$(basename "$wheel")"
done
printf '%10d  bytes in %s (%.2f MiB of the %d MiB a call may carry)\n' "$total" "$DEST" \
  "$(echo "$total / 1048576" | bc -l)" "$LIMIT_MIB"
if [[ $total -gt $((LIMIT_MIB * 1048576)) ]]; then
  echo "the wheels exceed $LIMIT_MIB MiB" >&2; exit 1
fi

if [[ -n "$VERIFY" ]]; then
  target="$(mktemp -d)"
  trap 'rm -rf "$target"' EXIT
  "$VERIFY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$target/site" "$DEST"/*.whl
  PYTHONPATH="$target/site" KERAS_BACKEND=jax "$VERIFY" -c '
import importlib.metadata as metadata
import keras
print("verified: keras", keras.__version__, "on", keras.backend.backend(),
      "with numpy", metadata.version("numpy"), "and jax", metadata.version("jax"))'
fi
