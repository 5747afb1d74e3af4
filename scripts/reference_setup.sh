#!/usr/bin/env bash
# Create .venv-ref: a separate venv with Google's MediaPipe (legacy FaceMesh), used only as the
# reference our LiteRT pipeline is tested and benchmarked against. MediaPipe 0.10.18 needs
# numpy<2 and protobuf<5, so it cannot live in the project's .venv.
#   scripts/reference_setup.sh [MEDIAPIPE_WHEEL]   (default: mediapipe==0.10.18 from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-ref
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import mediapipe" 2>/dev/null; then
  echo "$VENV already has mediapipe"; exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# its dependencies first, then mediapipe itself without its declared ones (jax, opencv-contrib, ...)
"$VENV/bin/python" -m pip install --quiet "numpy<2" "protobuf>=4.25.3,<5" attrs absl-py \
  flatbuffers "opencv-python-headless<4.12" matplotlib
"$VENV/bin/python" -m pip install --quiet --no-deps "${1:-mediapipe==0.10.18}"
"$VENV/bin/python" -c "import mediapipe as mp; mp.solutions.face_mesh.FaceMesh; print('mediapipe', mp.__version__, 'ready in $VENV')"
