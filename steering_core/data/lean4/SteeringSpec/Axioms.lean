import SteeringSpec.Basic

/-!
# Axiom audit

`#print axioms` for every theorem of `SteeringSpec.Basic`. `scripts/check_lean.sh` runs this file
and fails unless each theorem depends on nothing beyond `propext`, `Classical.choice` and
`Quot.sound` (no `sorryAx`, no added axiom).
-/

#print axioms SteeringSpec.unit_sphere
#print axioms SteeringSpec.normalizeVec_zero
#print axioms SteeringSpec.zero_has_no_direction
#print axioms SteeringSpec.normalizeVec_of_ne_zero
#print axioms SteeringSpec.normalizeVec_unit
#print axioms SteeringSpec.normalizeVec_idempotent
#print axioms SteeringSpec.steer_sub
#print axioms SteeringSpec.norm_step
#print axioms SteeringSpec.safe_alpha
#print axioms SteeringSpec.alphaMax_greatest
#print axioms SteeringSpec.alphaMax_safe
#print axioms SteeringSpec.alphaMax_exceeded
#print axioms SteeringSpec.perturbation_ratio_exact
#print axioms SteeringSpec.ratio_smul
#print axioms SteeringSpec.steer_zero
#print axioms SteeringSpec.steer_add
#print axioms SteeringSpec.steer_compose
#print axioms SteeringSpec.steer_comm
#print axioms SteeringSpec.steer_neg
#print axioms SteeringSpec.steer_smul
