#!/usr/bin/env bash
# Create the virtualenvs of the peer tools the benchmarks compare against:
#   .bench/mlflow-venv   mlflow==3.17.2 (tracking and serving benchmarks)
#   .bench/bentoml-venv  bentoml==1.4.39 (serving benchmark)
#   .bench/phoenix-venv  arize-phoenix==20.26.1 (trace ingest benchmark)
#
# Each peer lives in its own virtualenv so that its pins never touch windlass's. mlflow==3.17.2
# is the newest release that resolves against this registry mirror (3.18.0 does not: its
# mlflow-skinny pin is missing). bentoml==1.4.39 is the newest 1.4 release that resolves
# (1.4.40 needs certifi>=2026.10.19, which the mirror lacks). The serving benchmark hands
# every server the same joblib model file, so both venvs also get windlass's scikit-learn
# version. arize-phoenix==20.26.1 is the newest release on the mirror, and it resolves here
# with Python 3.11 (`pip check` is clean); it needs no scikit-learn, since the trace benchmark
# only sends it spans. Idempotent: a venv that already holds the pinned versions is left alone.
set -euo pipefail

MLFLOW_VERSION="3.17.2"
BENTOML_VERSION="1.4.39"
PHOENIX_VERSION="20.26.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

# The scikit-learn of windlass's venv (the serving model is written there), else a default.
SKLEARN_VERSION="$("${ROOT}/.venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("scikit-learn"))' 2>/dev/null || true)"
SKLEARN_VERSION="${SKLEARN_VERSION:-1.9.1}"

installed_version() {  # venv package
    "$1/bin/python" -c "import importlib.metadata as m; print(m.version('$2'))" \
        2>/dev/null || true
}

# setup_venv NAME PACKAGE VERSION: make .bench/NAME with PACKAGE==VERSION and scikit-learn.
setup_venv() {
    local venv="${ROOT}/.bench/$1" package="$2" version="$3"
    if [[ -x "${venv}/bin/python" && "$(installed_version "${venv}" "${package}")" == "${version}" \
          && "$(installed_version "${venv}" scikit-learn)" == "${SKLEARN_VERSION}" ]]; then
        echo "${package} ${version} (scikit-learn ${SKLEARN_VERSION}) already installed in ${venv}"
        return
    fi
    mkdir -p "${ROOT}/.bench"
    if [[ ! -x "${venv}/bin/python" ]]; then
        "${PYTHON}" -m venv "${venv}"
    fi
    "${venv}/bin/python" -m pip install --quiet "${package}==${version}" \
        "scikit-learn==${SKLEARN_VERSION}" joblib
    echo "installed ${package} $(installed_version "${venv}" "${package}") (scikit-learn" \
         "$(installed_version "${venv}" scikit-learn)) in ${venv}"
}

setup_venv mlflow-venv mlflow "${MLFLOW_VERSION}"
setup_venv bentoml-venv bentoml "${BENTOML_VERSION}"

# Phoenix (trace ingest benchmark): its own venv, no scikit-learn.
PHOENIX_VENV="${ROOT}/.bench/phoenix-venv"
if [[ -x "${PHOENIX_VENV}/bin/python" \
      && "$(installed_version "${PHOENIX_VENV}" arize-phoenix)" == "${PHOENIX_VERSION}" ]]; then
    echo "arize-phoenix ${PHOENIX_VERSION} already installed in ${PHOENIX_VENV}"
else
    mkdir -p "${ROOT}/.bench"
    if [[ ! -x "${PHOENIX_VENV}/bin/python" ]]; then
        "${PYTHON}" -m venv "${PHOENIX_VENV}"
    fi
    "${PHOENIX_VENV}/bin/python" -m pip install --quiet "arize-phoenix==${PHOENIX_VERSION}"
    echo "installed arize-phoenix $(installed_version "${PHOENIX_VENV}" arize-phoenix)" \
         "in ${PHOENIX_VENV}"
fi
