#!/usr/bin/env bash
# Unpack llama.cpp's own Hugging Face -> GGUF converter from the llama-cpp-python sdist (the same
# release scripts/build_llama_cpp.sh builds), for the llama.cpp conformance backend
# (steering_core/conformance/llama_cpp_adapter.py converts the checked model to an F32 GGUF with it).
#
#   scripts/fetch_llama_convert.sh      # into $LLAMA_CONVERT (default ~/.cache/steering-spec/llama-cpp-convert)
#
# Environment:
#   LLAMA_CONVERT    target folder (created; left as it is when it already holds the converter)
#   LLAMA_CPP_SPEC   requirement to fetch (default: llama-cpp-python==0.3.36)
#   PIP              pip to download with (default: python3 -m pip)
#
# Copies only vendor/llama.cpp/{convert_hf_to_gguf.py,conversion,gguf-py,LICENSE} (about 2 MB).
set -euo pipefail

LLAMA_CONVERT="${LLAMA_CONVERT:-$HOME/.cache/steering-spec/llama-cpp-convert}"
LLAMA_CPP_SPEC="${LLAMA_CPP_SPEC:-llama-cpp-python==0.3.36}"
PIP="${PIP:-python3 -m pip}"

if [[ -f "$LLAMA_CONVERT/convert_hf_to_gguf.py" && -d "$LLAMA_CONVERT/conversion" && -d "$LLAMA_CONVERT/gguf-py" ]]; then
    echo "llama.cpp converter already in $LLAMA_CONVERT"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
$PIP download --quiet --disable-pip-version-check --no-deps --no-binary :all: "$LLAMA_CPP_SPEC" -d "$work/sdist"
archive="$(ls "$work"/sdist/*.tar.gz)"
top="$(basename "$archive" .tar.gz)"
tar xzf "$archive" -C "$work" \
    "$top/vendor/llama.cpp/convert_hf_to_gguf.py" \
    "$top/vendor/llama.cpp/conversion" \
    "$top/vendor/llama.cpp/gguf-py" \
    "$top/vendor/llama.cpp/LICENSE"
mkdir -p "$(dirname "$LLAMA_CONVERT")"
staged="$LLAMA_CONVERT.tmp.$$"
rm -rf "$staged"
mv "$work/$top/vendor/llama.cpp" "$staged"
rm -rf "$LLAMA_CONVERT"
mv "$staged" "$LLAMA_CONVERT"
echo "llama.cpp converter unpacked into $LLAMA_CONVERT"
