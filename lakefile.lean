import Lake
open Lake DSL

/-! Lean 4 + Mathlib proofs of the steering laws (`spec/properties.toml`, column "Lean").
Mathlib is pinned to the release tag matching `lean-toolchain`. Build: `scripts/check_lean.sh`. -/

package «steering-spec» where
  leanOptions := #[⟨`autoImplicit, false⟩]

require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "v4.19.0"

@[default_target]
lean_lib SteeringSpec where
  srcDir := "steering_core/data/lean4"
  roots := #[`SteeringSpec, `SteeringSpec.Axioms]
