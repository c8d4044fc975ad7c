prelude
import Kernel.Logic
/-!
# The steering laws, checked by the Lean kernel in CI

`steer h v α = h + α • v` is activation steering of one residual vector `h` along `v`. This file
states and proves every law of `spec/properties.toml` under the same theorem names as the
Mathlib reference `lean4/SteeringSpec/Basic.lean`, in prelude form (see `Kernel/Logic.lean`):
`add a b` is `a + b`, `smul a v` is `a • v`, `norm v` is `‖v‖`, `le a b` is `a ≤ b`, and
`mul a (inv b)` is `a / b`.

The laws are proved for every type with the two classes below. Their fields are *hypotheses*
(a class is a list of assumptions, not an axiom): each is a standard fact about `ℝ` and the
Euclidean norm of `ℝ^d` (in Mathlib: `NormedAddCommGroup E`, `InnerProductSpace ℝ E`, and `ℝ` a
`LinearOrderedField` with `0⁻¹ = 0`), which is why `ℝ^d` satisfies them; the Mathlib file proves
the same laws directly for `ℝ^d`. For `ℝ` and `E = ℝ^d` with the Euclidean norm, each field is the
Mathlib lemma of the same or a close name: the ring fields (`add_assoc`, ..., `mul_add`),
`zero_ne_one`, `mul_inv_cancel₀`, `mul_inv`, `le_refl`, `le_antisymm`, `le_total`, `mul_nonneg`,
`inv_nonneg`, `le_div_iff₀`, `abs_of_nonneg`, `abs_inv`; the module fields (`add_assoc`,
`add_comm`, `add_zero`, `add_neg_cancel`, `one_smul`, `mul_smul`, `smul_add`, `add_smul`,
`zero_smul`, `smul_zero`), and `norm_smul` (with `Real.norm_eq_abs`), `norm_nonneg`,
`norm_eq_zero`; `decEq` is `Classical.decEq`. `Kernel/Model.lean` exhibits a finite model of both classes
(checked by the same kernel), so the assumptions are not contradictory and the theorems are not
vacuous.

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

universe u v

noncomputable section

namespace SteeringSpec

/-- The scalars: a field (with `0⁻¹ = 0`, as in Mathlib), a total order and the absolute value.
Only the facts the steering laws use are listed; `ℝ` has every one. -/
class Scalar (R : Type u) where
  zero : R
  one : R
  add : R → R → R
  mul : R → R → R
  neg : R → R
  inv : R → R
  abs : R → R
  le : R → R → Prop
  add_assoc : ∀ a b c : R, Eq (add (add a b) c) (add a (add b c))
  add_comm : ∀ a b : R, Eq (add a b) (add b a)
  add_zero : ∀ a : R, Eq (add a zero) a
  add_neg : ∀ a : R, Eq (add a (neg a)) zero
  mul_assoc : ∀ a b c : R, Eq (mul (mul a b) c) (mul a (mul b c))
  mul_comm : ∀ a b : R, Eq (mul a b) (mul b a)
  mul_one : ∀ a : R, Eq (mul a one) a
  mul_add : ∀ a b c : R, Eq (mul a (add b c)) (add (mul a b) (mul a c))
  zero_ne_one : Ne zero one
  mul_inv_cancel : ∀ a : R, Ne a zero → Eq (mul a (inv a)) one
  /-- `(a b)⁻¹ = a⁻¹ b⁻¹` (Mathlib `mul_inv`; true for `a = 0` or `b = 0` since `0⁻¹ = 0`). -/
  mul_inv : ∀ a b : R, Eq (inv (mul a b)) (mul (inv a) (inv b))
  le_refl : ∀ a : R, le a a
  le_antisymm : ∀ a b : R, le a b → le b a → Eq a b
  le_total : ∀ a b : R, Or (le a b) (le b a)
  mul_nonneg : ∀ a b : R, le zero a → le zero b → le zero (mul a b)
  inv_nonneg : ∀ a : R, le zero a → le zero (inv a)
  /-- For `c > 0` (that is, not `c ≤ 0`): `a ≤ b / c ↔ a c ≤ b` (Mathlib `le_div_iff₀`). -/
  le_div_iff : ∀ a b c : R, Not (le c zero) → Iff (le a (mul b (inv c))) (le (mul a c) b)
  abs_of_nonneg : ∀ a : R, le zero a → Eq (abs a) a
  abs_inv : ∀ a : R, Eq (abs (inv a)) (inv (abs a))

/-- The vectors: a module over `R` with a norm that is absolutely homogeneous, non-negative and
definite, and a decidable equality (classical for `ℝ^d`, as `open scoped Classical` in Mathlib). -/
class Space (R : outParam (Type u)) [Scalar R] (E : Type v) where
  vzero : E
  vadd : E → E → E
  vneg : E → E
  smul : R → E → E
  norm : E → R
  decEq : (x y : E) → Decidable (Eq x y)
  vadd_assoc : ∀ x y z : E, Eq (vadd (vadd x y) z) (vadd x (vadd y z))
  vadd_comm : ∀ x y : E, Eq (vadd x y) (vadd y x)
  vadd_zero : ∀ x : E, Eq (vadd x vzero) x
  vadd_neg : ∀ x : E, Eq (vadd x (vneg x)) vzero
  one_smul : ∀ x : E, Eq (smul Scalar.one x) x
  mul_smul : ∀ (a b : R) (x : E), Eq (smul (Scalar.mul a b) x) (smul a (smul b x))
  smul_add : ∀ (a : R) (x y : E), Eq (smul a (vadd x y)) (vadd (smul a x) (smul a y))
  add_smul : ∀ (a b : R) (x : E), Eq (smul (Scalar.add a b) x) (vadd (smul a x) (smul b x))
  zero_smul : ∀ x : E, Eq (smul Scalar.zero x) vzero
  smul_zero : ∀ a : R, Eq (smul a vzero) vzero
  norm_smul : ∀ (a : R) (x : E), Eq (norm (smul a x)) (Scalar.mul (Scalar.abs a) (norm x))
  norm_nonneg : ∀ x : E, Scalar.le Scalar.zero (norm x)
  norm_eq_zero : ∀ x : E, Eq (norm x) Scalar.zero → Eq x vzero

open Scalar Space

variable {R : Type u} {E : Type v} [Scalar R] [Space R E]

/-- `a < b` in a total order: not `b ≤ a`. -/
def lt (a b : R) : Prop := Not (le b a)

/-- `x - y`. -/
def sub (x y : E) : E := vadd x (vneg y)

/-- `steer h v α = h + α • v`: the steering update of one residual vector. -/
def steer (h v : E) (α : R) : E := vadd h (smul α v)

/-- Normalisation as a partial function: `none` on the zero vector, which has no direction. -/
def normalizeVec (v : E) : Option E :=
  ite (Eq v vzero) (decEq v vzero) Option.none (Option.some (smul (inv (norm v)) v))

/-- The largest safe `|α|` for the step budget `ρ`: `ρ ‖h‖ / ‖v‖`. -/
def alphaMax (ρ : R) (h v : E) : R := mul (mul ρ (norm h)) (inv (norm v))

/-- The perturbation ratio `|α| ‖v‖ / ‖h‖`. -/
def ratio (α : R) (v h : E) : R := mul (mul (abs α) (norm v)) (inv (norm h))

/-! ## General lemmas -/

theorem zero_add (a : R) : Eq (add zero a) a := Eq.trans (add_comm zero a) (add_zero a)

theorem one_mul (a : R) : Eq (mul one a) a := Eq.trans (mul_comm one a) (mul_one a)

theorem neg_add (a : R) : Eq (add (neg a) a) zero := Eq.trans (add_comm (neg a) a) (add_neg a)

/-- `x + x = x` only for `x = 0`. -/
theorem eq_zero_of_add_self (x : R) (h : Eq (add x x) x) : Eq x zero :=
  Eq.trans (Eq.symm (add_zero x))
    (Eq.trans (congrArg (add x) (Eq.symm (add_neg x)))
      (Eq.trans (Eq.symm (add_assoc x x (neg x)))
        (Eq.trans (congrArg (fun y => add y (neg x)) h) (add_neg x))))

theorem mul_zero (a : R) : Eq (mul a zero) zero :=
  eq_zero_of_add_self (mul a zero)
    (Eq.trans (Eq.symm (mul_add a zero zero)) (congrArg (mul a) (add_zero zero)))

theorem zero_mul (a : R) : Eq (mul zero a) zero := Eq.trans (mul_comm zero a) (mul_zero a)

theorem mul_left_comm (a b c : R) : Eq (mul a (mul b c)) (mul b (mul a c)) :=
  Eq.trans (Eq.symm (mul_assoc a b c))
    (Eq.trans (congrArg (fun x => mul x c) (mul_comm a b)) (mul_assoc b a c))

theorem one_ne_zero : Ne (one : R) zero := Ne.symm zero_ne_one

theorem inv_one : Eq (inv (one : R)) one :=
  Eq.trans (Eq.symm (one_mul (inv one))) (mul_inv_cancel one one_ne_zero)

theorem inv_mul_cancel (a : R) (h : Ne a zero) : Eq (mul (inv a) a) one :=
  Eq.trans (mul_comm (inv a) a) (mul_inv_cancel a h)

/-- `(c x) (c⁻¹ y) = x y` for `c ≠ 0`. -/
theorem mul_cancel_left (c x y : R) (hc : Ne c zero) : Eq (mul (mul c x) (mul (inv c) y)) (mul x y) :=
  Eq.trans (mul_assoc c x (mul (inv c) y))
    (Eq.trans (congrArg (mul c) (mul_left_comm x (inv c) y))
      (Eq.trans (Eq.symm (mul_assoc c (inv c) (mul x y)))
        (Eq.trans (congrArg (fun z => mul z (mul x y)) (mul_inv_cancel c hc)) (one_mul (mul x y)))))

theorem le_of_lt {a b : R} (h : lt a b) : le a b :=
  Or.elim (le_total a b) (fun hab => hab) (fun hba => absurd hba h)

theorem abs_of_pos {a : R} (h : lt zero a) : Eq (abs a) a := abs_of_nonneg a (le_of_lt h)

theorem div_nonneg {a b : R} (ha : le zero a) (hb : le zero b) : le zero (mul a (inv b)) :=
  mul_nonneg a (inv b) ha (inv_nonneg b hb)

theorem le_of_eq_of_le {a b c : R} (h : Eq a b) (hbc : le b c) : le a c :=
  Eq.subst (fun x => le x c) (Eq.symm h) hbc

theorem zero_vadd (x : E) : Eq (vadd vzero x) x := Eq.trans (vadd_comm vzero x) (vadd_zero x)

theorem neg_vadd (x : E) : Eq (vadd (vneg x) x) vzero := Eq.trans (vadd_comm (vneg x) x) (vadd_neg x)

/-- The additive inverse is unique: `x + y = 0 → x = -y`. -/
theorem eq_neg_of_add_eq_zero {x y : E} (h : Eq (vadd x y) vzero) : Eq x (vneg y) :=
  Eq.trans (Eq.symm (vadd_zero x))
    (Eq.trans (congrArg (vadd x) (Eq.symm (vadd_neg y)))
      (Eq.trans (Eq.symm (vadd_assoc x y (vneg y)))
        (Eq.trans (congrArg (fun z => vadd z (vneg y)) h) (zero_vadd (vneg y)))))

theorem smul_neg (a : R) (x : E) : Eq (smul a (vneg x)) (vneg (smul a x)) :=
  eq_neg_of_add_eq_zero
    (Eq.trans (Eq.symm (smul_add a (vneg x) x)) (Eq.trans (congrArg (smul a) (neg_vadd x)) (smul_zero a)))

theorem neg_smul (a : R) (x : E) : Eq (smul (neg a) x) (vneg (smul a x)) :=
  eq_neg_of_add_eq_zero
    (Eq.trans (Eq.symm (add_smul (neg a) a x))
      (Eq.trans (congrArg (fun c => smul c x) (neg_add a)) (zero_smul x)))

theorem norm_zero : Eq (norm (vzero : E)) (zero : R) :=
  Eq.trans (congrArg norm (Eq.symm (zero_smul (vzero : E))))
    (Eq.trans (norm_smul zero (vzero : E))
      (Eq.trans (congrArg (fun c => mul c (norm (vzero : E))) (abs_of_nonneg zero (le_refl zero)))
        (zero_mul (norm (vzero : E)))))

theorem norm_ne_zero {v : E} (hv : Ne v vzero) : Ne (norm v) zero := fun h => hv (norm_eq_zero v h)

theorem norm_pos {v : E} (hv : Ne v vzero) : lt zero (norm v) :=
  fun hle => hv (norm_eq_zero v (le_antisymm (norm v) zero hle (norm_nonneg v)))

/-! ## Normalisation -/

/-- `P-unit-sphere`: a non-zero vector divided by its norm has norm one. -/
theorem unit_sphere {v : E} (hv : Ne v vzero) : Eq (norm (smul (inv (norm v)) v)) one :=
  Eq.trans (norm_smul (inv (norm v)) v)
    (Eq.trans
      (congrArg (fun c => mul c (norm v))
        (Eq.trans (abs_inv (norm v)) (congrArg inv (abs_of_nonneg (norm v) (norm_nonneg v)))))
      (inv_mul_cancel (norm v) (norm_ne_zero hv)))

/-- `P-normalize-zero`: normalising the zero vector yields no direction. -/
theorem normalizeVec_zero : Eq (normalizeVec (vzero : E)) Option.none :=
  if_pos (decEq (vzero : E) vzero) (Eq.refl vzero) _ _

/-- `P-normalize-zero`: no scalar multiple of `0` is a unit vector. -/
theorem zero_has_no_direction (c : R) : Ne (norm (smul c (vzero : E))) one :=
  fun h => zero_ne_one (Eq.trans (Eq.symm (Eq.trans (congrArg norm (smul_zero c)) norm_zero)) h)

theorem normalizeVec_of_ne_zero {v : E} (hv : Ne v vzero) :
    Eq (normalizeVec v) (Option.some (smul (inv (norm v)) v)) :=
  if_neg (decEq v vzero) hv _ _

/-- `P-unit-sphere`: whatever `normalizeVec` returns is a unit vector. -/
theorem normalizeVec_unit {v w : E} (h : Eq (normalizeVec v) (Option.some w)) : Eq (norm w) one :=
  byCases (decEq v vzero)
    (fun hv0 =>
      absurd
        (Eq.trans
          (Eq.symm (Eq.subst (fun x => Eq (normalizeVec x) Option.none) (Eq.symm hv0) normalizeVec_zero)) h)
        (Option.none_ne_some w))
    (fun hv =>
      Eq.subst (fun x => Eq (norm x) one)
        (Option.some_inj (Eq.trans (Eq.symm (normalizeVec_of_ne_zero hv)) h)) (unit_sphere hv))

/-- `P-normalize-idempotent`: normalising a normalised vector returns it unchanged. -/
theorem normalizeVec_idempotent {v w : E} (h : Eq (normalizeVec v) (Option.some w)) :
    Eq (normalizeVec w) (Option.some w) :=
  let hw : Eq (norm w) one := normalizeVec_unit h
  let hw0 : Ne w vzero := fun h0 =>
    zero_ne_one (Eq.trans (Eq.symm (Eq.trans (congrArg norm h0) norm_zero)) hw)
  Eq.trans (normalizeVec_of_ne_zero hw0)
    (congrArg Option.some
      (Eq.trans (congrArg (fun c => smul (inv c) w) hw)
        (Eq.trans (congrArg (fun c => smul c w) inv_one) (one_smul w))))

/-! ## Step size -/

theorem steer_sub (h v : E) (α : R) : Eq (sub (steer h v α) h) (smul α v) :=
  Eq.trans (congrArg (fun x => vadd x (vneg h)) (vadd_comm h (smul α v)))
    (Eq.trans (vadd_assoc (smul α v) h (vneg h))
      (Eq.trans (congrArg (vadd (smul α v)) (vadd_neg h)) (vadd_zero (smul α v))))

/-- `P-safe-alpha`: the step has norm exactly `|α| ‖v‖`. -/
theorem norm_step (h v : E) (α : R) : Eq (norm (sub (steer h v α) h)) (mul (abs α) (norm v)) :=
  Eq.trans (congrArg norm (steer_sub h v α)) (norm_smul α v)

/-- `P-safe-alpha`: a safe `α` keeps the step within `ρ ‖h‖`. -/
theorem safe_alpha {h v : E} {α ρ : R} (hα : le (mul (abs α) (norm v)) (mul ρ (norm h))) :
    le (norm (sub (steer h v α) h)) (mul ρ (norm h)) :=
  le_of_eq_of_le (norm_step h v α) hα

/-- `P-alpha-max`: `|α|` is safe exactly when `|α| ≤ alphaMax ρ h v`. -/
theorem alphaMax_greatest {h v : E} {α ρ : R} (hv : Ne v vzero) :
    Iff (le (mul (abs α) (norm v)) (mul ρ (norm h))) (le (abs α) (alphaMax ρ h v)) :=
  Iff.symm (le_div_iff (abs α) (mul ρ (norm h)) (norm v) (norm_pos hv))

/-- `P-alpha-max`: `alphaMax` itself is safe (it is attained). -/
theorem alphaMax_safe {h v : E} {ρ : R} (hv : Ne v vzero) (hρ : le zero ρ) :
    le (norm (sub (steer h v (alphaMax ρ h v)) h)) (mul ρ (norm h)) :=
  let hnn : le zero (alphaMax ρ h v) := div_nonneg (mul_nonneg ρ (norm h) hρ (norm_nonneg h)) (norm_nonneg v)
  safe_alpha (Iff.mpr (alphaMax_greatest hv)
    (le_of_eq_of_le (abs_of_nonneg (alphaMax ρ h v) hnn) (le_refl (alphaMax ρ h v))))

/-- `P-alpha-max`: every `|α|` beyond `alphaMax` breaks the budget. -/
theorem alphaMax_exceeded {h v : E} {α ρ : R} (hv : Ne v vzero) (hα : lt (alphaMax ρ h v) (abs α)) :
    lt (mul ρ (norm h)) (norm (sub (steer h v α) h)) :=
  fun hle => hα (Iff.mp (alphaMax_greatest hv) (le_of_eq_of_le (Eq.symm (norm_step h v α)) hle))

/-- `P-perturbation-ratio`: the realised ratio is `|α| ‖v‖ / ‖h‖`. -/
theorem perturbation_ratio_exact (h v : E) (α : R) :
    Eq (mul (norm (sub (steer h v α) h)) (inv (norm h))) (ratio α v h) :=
  congrArg (fun x => mul x (inv (norm h))) (norm_step h v α)

/-- `P-ratio-scale-invariance`: scaling `h` and `v` by the same `c > 0` keeps the ratio. -/
theorem ratio_smul {c : R} (hc : lt zero c) (α : R) (v h : E) :
    Eq (ratio α (smul c v) (smul c h)) (ratio α v h) :=
  let hn : ∀ x : E, Eq (norm (smul c x)) (mul c (norm x)) := fun x =>
    Eq.trans (norm_smul c x) (congrArg (fun a => mul a (norm x)) (abs_of_pos hc))
  let hc0 : Ne c zero := fun e => hc (Eq.subst (fun x => le x zero) (Eq.symm e) (le_refl zero))
  Eq.trans (congr2 (fun a b => mul (mul (abs α) a) (inv b)) (hn v) (hn h))
    (Eq.trans (congr2 mul (mul_left_comm (abs α) c (norm v)) (mul_inv c (norm h)))
      (mul_cancel_left c (mul (abs α) (norm v)) (inv (norm h)) hc0))

/-! ## Linear laws -/

/-- `P-zero-alpha`. -/
theorem steer_zero (h v : E) : Eq (steer h v (zero : R)) h :=
  Eq.trans (congrArg (vadd h) (zero_smul v)) (vadd_zero h)

/-- `P-additivity`. -/
theorem steer_add (h v : E) (a b : R) : Eq (steer (steer h v a) v b) (steer h v (add a b)) :=
  Eq.trans (vadd_assoc h (smul a v) (smul b v)) (congrArg (vadd h) (Eq.symm (add_smul a b v)))

/-- `P-composition`: two vectors at one layer with one `α` are their sum. -/
theorem steer_compose (h u w : E) (α : R) : Eq (steer (steer h u α) w α) (steer h (vadd u w) α) :=
  Eq.trans (vadd_assoc h (smul α u) (smul α w)) (congrArg (vadd h) (Eq.symm (smul_add α u w)))

/-- `P-commutation`: the order of two vectors at one layer does not matter. -/
theorem steer_comm (h u w : E) (a b : R) : Eq (steer (steer h u a) w b) (steer (steer h w b) u a) :=
  Eq.trans (vadd_assoc h (smul a u) (smul b w))
    (Eq.trans (congrArg (vadd h) (vadd_comm (smul a u) (smul b w)))
      (Eq.symm (vadd_assoc h (smul b w) (smul a u))))

/-- `P-sign-symmetry`. -/
theorem steer_neg (h v : E) (α : R) : Eq (steer h (vneg v) α) (steer h v (neg α)) :=
  congrArg (vadd h) (Eq.trans (smul_neg α v) (Eq.symm (neg_smul α v)))

/-- `P-scale-covariance`. -/
theorem steer_smul (h v : E) (c α : R) : Eq (steer h (smul c v) α) (steer h v (mul c α)) :=
  congrArg (vadd h) (Eq.trans (Eq.symm (mul_smul α c v)) (congrArg (fun x => smul x v) (mul_comm α c)))

end SteeringSpec

end
