import Mathlib.Analysis.InnerProductSpace.Basic

/-!
# Steering laws over a real inner-product space

`steer h v α = h + α • v` is activation steering of one residual vector `h` along `v`. Every
law of `spec/properties.toml` is proved here for an arbitrary real inner-product space `E`
(so for `ℝ^d` with every `d`). Normalisation is partial: `normalizeVec 0 = none`, and no
scalar multiple of `0` has norm `1`.

Registry ids and theorems:
* `P-unit-sphere`: `unit_sphere`, `normalizeVec_unit`
* `P-normalize-zero`: `normalizeVec_zero`, `zero_has_no_direction`
* `P-safe-alpha`: `safe_alpha`, `norm_step`
* `P-alpha-max`: `alphaMax_greatest`, `alphaMax_safe`, `alphaMax_exceeded`
* `P-perturbation-ratio`: `perturbation_ratio_exact`
* `P-zero-alpha`: `steer_zero`
* `P-additivity`: `steer_add`
* `P-composition`: `steer_compose`
* `P-commutation`: `steer_comm`
* `P-sign-symmetry`: `steer_neg`
* `P-scale-covariance`: `steer_smul`
* `P-normalize-idempotent`: `normalizeVec_idempotent`
* `P-ratio-scale-invariance`: `ratio_smul`
-/

noncomputable section

open scoped Classical

namespace SteeringSpec

variable {E : Type*} [NormedAddCommGroup E] [InnerProductSpace ℝ E]

/-- `steer h v α = h + α • v`: the steering update of one residual vector. -/
def steer (h v : E) (α : ℝ) : E := h + α • v

/-- Normalisation as a partial function: `none` on the zero vector, which has no direction. -/
def normalizeVec (v : E) : Option E := if v = 0 then none else some (‖v‖⁻¹ • v)

/-- The largest safe `|α|` for the step budget `ρ`: `ρ ‖h‖ / ‖v‖`. -/
def alphaMax (ρ : ℝ) (h v : E) : ℝ := ρ * ‖h‖ / ‖v‖

/-- The perturbation ratio `|α| ‖v‖ / ‖h‖`. -/
def ratio (α : ℝ) (v h : E) : ℝ := |α| * ‖v‖ / ‖h‖

/-! ### Normalisation -/

/-- `P-unit-sphere`: a non-zero vector divided by its norm has norm one. -/
theorem unit_sphere {v : E} (hv : v ≠ 0) : ‖‖v‖⁻¹ • v‖ = 1 := by
  rw [norm_smul, norm_inv, norm_norm, inv_mul_cancel₀ (norm_ne_zero_iff.mpr hv)]

/-- `P-normalize-zero`: normalising the zero vector yields no direction. -/
theorem normalizeVec_zero : normalizeVec (0 : E) = none := by
  unfold normalizeVec
  exact if_pos rfl

/-- `P-normalize-zero`: no scalar multiple of `0` is a unit vector. -/
theorem zero_has_no_direction (c : ℝ) : ‖c • (0 : E)‖ ≠ 1 := by
  rw [smul_zero, norm_zero]
  exact zero_ne_one

theorem normalizeVec_of_ne_zero {v : E} (hv : v ≠ 0) :
    normalizeVec v = some (‖v‖⁻¹ • v) := by
  unfold normalizeVec
  exact if_neg hv

/-- `P-unit-sphere`: whatever `normalizeVec` returns is a unit vector. -/
theorem normalizeVec_unit {v w : E} (h : normalizeVec v = some w) : ‖w‖ = 1 := by
  by_cases hv : v = 0
  · rw [hv, normalizeVec_zero] at h
    cases h
  · rw [normalizeVec_of_ne_zero hv] at h
    rw [← Option.some.inj h]
    exact unit_sphere hv

/-- `P-normalize-idempotent`: normalising a normalised vector returns it unchanged. -/
theorem normalizeVec_idempotent {v w : E} (h : normalizeVec v = some w) :
    normalizeVec w = some w := by
  have hw : ‖w‖ = 1 := normalizeVec_unit h
  have hw0 : w ≠ 0 := by
    intro h0
    rw [h0, norm_zero] at hw
    exact zero_ne_one hw
  rw [normalizeVec_of_ne_zero hw0, hw, inv_one, one_smul]

/-! ### Step size -/

theorem steer_sub (h v : E) (α : ℝ) : steer h v α - h = α • v := by
  unfold steer
  exact add_sub_cancel_left h (α • v)

/-- `P-safe-alpha`: the step has norm exactly `|α| ‖v‖`. -/
theorem norm_step (h v : E) (α : ℝ) : ‖steer h v α - h‖ = |α| * ‖v‖ := by
  rw [steer_sub, norm_smul, Real.norm_eq_abs]

/-- `P-safe-alpha`: a safe `α` keeps the step within `ρ ‖h‖`. -/
theorem safe_alpha {h v : E} {α ρ : ℝ} (hα : |α| * ‖v‖ ≤ ρ * ‖h‖) :
    ‖steer h v α - h‖ ≤ ρ * ‖h‖ := by
  rw [norm_step]
  exact hα

/-- `P-alpha-max`: `|α|` is safe exactly when `|α| ≤ alphaMax ρ h v`. -/
theorem alphaMax_greatest {h v : E} {α ρ : ℝ} (hv : v ≠ 0) :
    |α| * ‖v‖ ≤ ρ * ‖h‖ ↔ |α| ≤ alphaMax ρ h v := by
  unfold alphaMax
  exact (le_div_iff₀ (norm_pos_iff.mpr hv)).symm

/-- `P-alpha-max`: `alphaMax` itself is safe (it is attained). -/
theorem alphaMax_safe {h v : E} {ρ : ℝ} (hv : v ≠ 0) (hρ : 0 ≤ ρ) :
    ‖steer h v (alphaMax ρ h v) - h‖ ≤ ρ * ‖h‖ := by
  have hnn : 0 ≤ alphaMax ρ h v := div_nonneg (mul_nonneg hρ (norm_nonneg h)) (norm_nonneg v)
  rw [norm_step]
  exact (alphaMax_greatest hv).mpr (le_of_eq (abs_of_nonneg hnn))

/-- `P-alpha-max`: every `|α|` beyond `alphaMax` breaks the budget. -/
theorem alphaMax_exceeded {h v : E} {α ρ : ℝ} (hv : v ≠ 0) (hα : alphaMax ρ h v < |α|) :
    ρ * ‖h‖ < ‖steer h v α - h‖ := by
  rw [norm_step]
  exact not_le.mp fun hle => (not_le.mpr hα) ((alphaMax_greatest hv).mp hle)

/-- `P-perturbation-ratio`: the realised ratio is `|α| ‖v‖ / ‖h‖`. -/
theorem perturbation_ratio_exact (h v : E) (α : ℝ) :
    ‖steer h v α - h‖ / ‖h‖ = ratio α v h := by
  unfold ratio
  rw [norm_step]

/-- `P-ratio-scale-invariance`: scaling `h` and `v` by the same `c > 0` keeps the ratio. -/
theorem ratio_smul {c : ℝ} (hc : 0 < c) (α : ℝ) (v h : E) :
    ratio α (c • v) (c • h) = ratio α v h := by
  unfold ratio
  rw [norm_smul, norm_smul, Real.norm_eq_abs, abs_of_pos hc, mul_left_comm,
    mul_div_mul_left _ _ hc.ne']

/-! ### Linear laws -/

/-- `P-zero-alpha`. -/
theorem steer_zero (h v : E) : steer h v 0 = h := by
  unfold steer
  rw [zero_smul, add_zero]

/-- `P-additivity`. -/
theorem steer_add (h v : E) (a b : ℝ) : steer (steer h v a) v b = steer h v (a + b) := by
  unfold steer
  rw [add_smul, add_assoc]

/-- `P-composition`: two vectors at one layer with one `α` are their sum. -/
theorem steer_compose (h u w : E) (α : ℝ) :
    steer (steer h u α) w α = steer h (u + w) α := by
  unfold steer
  rw [smul_add, add_assoc]

/-- `P-commutation`: the order of two vectors at one layer does not matter. -/
theorem steer_comm (h u w : E) (a b : ℝ) :
    steer (steer h u a) w b = steer (steer h w b) u a := by
  unfold steer
  rw [add_right_comm]

/-- `P-sign-symmetry`. -/
theorem steer_neg (h v : E) (α : ℝ) : steer h (-v) α = steer h v (-α) := by
  unfold steer
  rw [smul_neg, neg_smul]

/-- `P-scale-covariance`. -/
theorem steer_smul (h v : E) (c α : ℝ) : steer h (c • v) α = steer h v (c * α) := by
  unfold steer
  rw [smul_smul, mul_comm α c]

end SteeringSpec
