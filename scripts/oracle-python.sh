#!/usr/bin/env bash
# oracle-python.sh -- the Python that tests/trl_losses.rs runs TRL's own loss code with, that
# tests/pretrained.rs makes and scores tiny transformers checkpoints with, and that
# tests/export.rs reads exported tables with (pandas, pyarrow) against h5py.
#
#   eval "$(bash scripts/oracle-python.sh)"    # sets WORKBENCH_ORACLE_PYTHON
#
# It is the torch 2.9.0 venv of `scripts/install-libtorch.sh --cuda` (made here if it is
# missing) with TRL and what `import trl` needs, pinned and installed with --no-deps so
# that pip adds nothing unpinned (notably not triton, which torch lists and the venv
# leaves out on purpose). A second run that finds TRL at the pinned version does nothing.
# Logs go to stderr; stdout carries only the export line.
set -euo pipefail
cd "$(dirname "$0")/.."

TRL_VERSION=1.16.0
# trl 1.16.0 and what importing it (with DPOTrainer, CPOTrainer, ORPOTrainer) loads, as pip
# resolved them against torch 2.9.0 on Python 3.11.
PINS=(
    trl==${TRL_VERSION} transformers==5.25.0 tokenizers==0.23.3 accelerate==1.16.0
    datasets==5.2.0 huggingface_hub==2.4.0 safetensors==0.8.0 hf-xet==1.8.0 kernels==0.19.1
    numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 python-dateutil==4.0.0 tzdata==2026.6
    psutil==7.2.2 packaging==26.4 PyYAML==6.0.4 regex==2026.12.2 tqdm==4.70.1 filelock==4.3.2
    fsspec==2026.9.0 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0 Jinja2==3.1.6
    MarkupSafe==3.0.4 sympy==1.14.0 mpmath==1.3.0 networkx==3.6.1 pydantic==2.14.4
    pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 annotated-doc==0.0.7
    typer==0.29.2 click==8.5.1 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 Pygments==2.21.0
    shellingham==1.5.4 tomlkit==0.15.3 truststore==0.10.5 httpx2==2.17.0 httpcore2==2.17.0
    h11==0.16.0 anyio==4.16.0 idna==3.20
    # tests/export.rs compares pandas' reading of the exported tables with h5py's.
    h5py==3.16.0
)

venv=${LIBTORCH_VENV:-${LIBTORCH_CACHE_ROOT:-/var/cache/dpo-workbench}/libtorch-venv}
python=$venv/bin/python
if ! bash scripts/install-libtorch.sh --cuda --check >/dev/null 2>&1; then
    echo "oracle-python: making the torch venv ($venv)" >&2
    bash scripts/install-libtorch.sh --cuda --print-env >/dev/null
fi
have=$("$python" -c 'import trl, h5py; print(trl.__version__)' 2>/dev/null || true)
if [ "$have" != "$TRL_VERSION" ]; then
    echo "oracle-python: installing trl ${TRL_VERSION} into $venv (found: ${have:-none})" >&2
    PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --quiet --no-deps "${PINS[@]}" >&2
    "$python" -c 'import trl; from trl import DPOTrainer; from trl.experimental.cpo import CPOTrainer; from trl.experimental.orpo import ORPOTrainer' >&2
fi
echo "export WORKBENCH_ORACLE_PYTHON=$python"
