#!/usr/bin/env bash
# One-shot check of the CUDA backend on a GPU machine (issue 15), sized for under 8 minutes on
# one H200: build with the CUDA backend required (a compile error fails here), run the CUDA
# tests and the CPU-vs-GPU tests, then the GPU benchmark with its asserted targets.
#
#   bash bench/device_check.sh             # full benchmark (binary n up to 26)
#   QUICK=1 bash bench/device_check.sh     # n <= 20
#   WHEELHOUSE=/path bash bench/device_check.sh   # machine without a package index: install
#                                                 # the build and test dependencies from wheels
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python3 -m venv --clear /tmp/unmask-device-venv
# shellcheck disable=SC1091
source /tmp/unmask-device-venv/bin/activate
pip_args=()
if [ -n "${WHEELHOUSE:-}" ]; then pip_args=(--no-index --find-links "$WHEELHOUSE"); fi
python -m pip install -q "${pip_args[@]}" scikit-build-core pybind11 numpy click rich pytest hypothesis
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-16}"
time python -m pip install -q "${pip_args[@]}" --no-build-isolation --no-deps . \
  -Ccmake.define.UNMASK_CUDA=ON
python -c "import unmask, json; print(json.dumps(unmask.backends(), indent=1))"
python -m pytest -q -p no:cacheprovider -rs tests/test_backends.py
if [ -n "${QUICK:-}" ]; then
  python bench/bench_cuda.py --quick
else
  python bench/bench_cuda.py
fi
