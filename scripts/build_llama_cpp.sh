#!/usr/bin/env bash
# Build llama-cpp-python from its registry sdist (CPU only) into a separate virtual environment,
# for the slow interop test (`make interop`, tests/interop/). Nothing here touches the project venv.
#
#   scripts/build_llama_cpp.sh            # venv at $LLAMA_VENV (default /tmp/llama-venv)
#
# Environment:
#   LLAMA_VENV       target virtual environment (created if missing)
#   LLAMA_CPP_SPEC   requirement to build (default: llama-cpp-python==0.3.36, the version tested)
#   LLAMA_JOBS       parallel compile jobs (default 1: the build machines have few cores)
#   PYTHON           interpreter for the venv (default python3)
#
# The build takes roughly 15-30 minutes on two cores. It is idempotent: an existing venv whose
# llama_cpp imports and exposes a control-vector API is left as it is.
set -euo pipefail

LLAMA_VENV="${LLAMA_VENV:-/tmp/llama-venv}"
LLAMA_CPP_SPEC="${LLAMA_CPP_SPEC:-llama-cpp-python==0.3.36}"
LLAMA_JOBS="${LLAMA_JOBS:-1}"
PYTHON="${PYTHON:-python3}"

probe='import llama_cpp as l; assert hasattr(l, "llama_set_adapter_cvec") or hasattr(l, "llama_apply_adapter_cvec") or hasattr(l, "llama_control_vector_apply"); print(l.__version__)'
if [[ -x "$LLAMA_VENV/bin/python" ]] && "$LLAMA_VENV/bin/python" -c "$probe" >/dev/null 2>&1; then
    echo "llama-cpp-python already built in $LLAMA_VENV: $("$LLAMA_VENV/bin/python" -c "$probe")"
    exit 0
fi

"$PYTHON" -m venv "$LLAMA_VENV"
"$LLAMA_VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip

# CPU only, no BLAS, no multimodal library, no network features, no tests/examples/tools.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_BLAS=OFF -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="$LLAMA_JOBS"
export FORCE_CMAKE=1

# --no-binary forces the registry sdist (never a prebuilt wheel), so we exercise llama.cpp's own code.
nice -n 10 "$LLAMA_VENV/bin/pip" install --disable-pip-version-check --no-binary llama-cpp-python \
    --verbose "$LLAMA_CPP_SPEC" numpy
"$LLAMA_VENV/bin/python" -c "$probe"
