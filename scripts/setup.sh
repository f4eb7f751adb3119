#!/usr/bin/env bash
# Install tscompress and everything it needs into the current Python environment.
#
# torch is installed first, on its own: a plain `torch` requirement on a machine with no torch pulls
# the newest CUDA build (several GB). Set TORCH_SPEC to choose another build, e.g.
#   TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  "$PYTHON" -m pip install ${TORCH_SPEC:-torch==2.13.0}
fi
# EXTRAS: the optional extras to install with the package (dev = the test tools; ray = the distributed executor)
"$PYTHON" -m pip install -e ".[${EXTRAS:-dev}]"
"$PYTHON" -c "import torch, tscompress; print('tscompress', tscompress.__version__, 'with torch', torch.__version__)"
