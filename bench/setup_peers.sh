#!/usr/bin/env bash
# Create .bench/mlflow-venv with the peer tool the tracking benchmark compares against.
#
# MLflow lives in its own virtualenv so that its pins never touch windlass's. mlflow==3.17.2
# is the newest release that resolves against this registry mirror (3.18.0 does not: its
# mlflow-skinny pin is missing). Idempotent: does nothing when the pinned version is there.
set -euo pipefail

MLFLOW_VERSION="3.17.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.bench/mlflow-venv"
PYTHON="${PYTHON:-python3}"

installed_version() {
    "${VENV}/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' \
        2>/dev/null || true
}

if [[ -x "${VENV}/bin/python" && "$(installed_version)" == "${MLFLOW_VERSION}" ]]; then
    echo "mlflow ${MLFLOW_VERSION} already installed in ${VENV}"
    exit 0
fi

mkdir -p "${ROOT}/.bench"
if [[ ! -x "${VENV}/bin/python" ]]; then
    "${PYTHON}" -m venv "${VENV}"
fi
"${VENV}/bin/python" -m pip install --quiet "mlflow==${MLFLOW_VERSION}"
echo "installed mlflow $(installed_version) in ${VENV}"
