#!/usr/bin/env bash
# Build the Lean 4 + Mathlib proofs of the steering laws and audit their axioms.
#
# With `lake` on PATH: `lake build` (failure propagates), then `lake env lean` on
# lean4/SteeringSpec/Axioms.lean, whose `#print axioms` output must name only propext,
# Classical.choice and Quot.sound, once per `#print axioms` line. Without `lake`: prints
# exactly "lean: SKIPPED (no Lean toolchain)" and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v lake >/dev/null 2>&1; then
  echo "lean: SKIPPED (no Lean toolchain)"
  exit 0
fi

lake build
out="$(lake env lean lean4/SteeringSpec/Axioms.lean 2>&1)" || { echo "$out"; exit 1; }
echo "$out"

expected=$(grep -c '^#print axioms ' lean4/SteeringSpec/Axioms.lean)
reported=$(printf '%s\n' "$out" | grep -cE "depends on axioms|does not depend on any axioms" || true)
if [ "$reported" -ne "$expected" ]; then
  echo "lean: axiom audit FAILED ($reported of $expected theorems reported)" >&2
  exit 1
fi
bad=$(printf '%s\n' "$out" | grep -oP 'depends on axioms: \[\K[^]]*' | tr ',' '\n' | tr -d ' ' \
  | grep -vxE 'propext|Classical\.choice|Quot\.sound' || true)
if [ -n "$bad" ]; then
  echo "lean: axiom audit FAILED: unexpected axioms: $(echo "$bad" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
echo "lean: checked ($expected theorems, axioms within propext, Classical.choice, Quot.sound)"
