import SteeringSpec.Basic

/-!
# SteeringSpec

Root module. The laws live in `SteeringSpec.Basic`; `SteeringSpec.Axioms` prints the axioms
every theorem depends on (`scripts/check_lean.sh` accepts only `propext`, `Classical.choice`
and `Quot.sound`).
-/
