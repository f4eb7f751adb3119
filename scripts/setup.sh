#!/usr/bin/env bash
# Install tscompress and everything it needs into the current Python environment, at the versions of
# requirements.lock (the CI build's; README, "The lock").
#
# torch is installed first, on its own: a plain `torch` requirement on a machine with no torch pulls
# the newest CUDA build (several GB). Set TORCH_SPEC to choose another build, e.g.
#   TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" bash scripts/setup.sh
# UNPINNED=1 installs the version ranges of pyproject.toml instead of the lock (with EXTRAS, default dev,ray).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LOCKED_TORCH=$(sed -n 's/^torch==\([^ ]*\).*/\1/p' requirements.lock)
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  "$PYTHON" -m pip install ${TORCH_SPEC:-torch==${LOCKED_TORCH}}
fi
if [ "${UNPINNED:-0}" = "1" ]; then
  # EXTRAS: the optional extras to install with the package (dev = the test tools; ray = the distributed executor)
  "$PYTHON" -m pip install -e ".[${EXTRAS:-dev,ray}]"
else
  "$PYTHON" -m pip install -r requirements.lock
  "$PYTHON" -m pip install --no-deps -e .
fi
"$PYTHON" -c "import torch, tscompress; print('tscompress', tscompress.__version__, 'with torch', torch.__version__)"
"$PYTHON" scripts/lock.py --check >/dev/null || echo "note: installed versions differ from requirements.lock (python scripts/lock.py --check)"
