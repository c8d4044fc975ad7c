prelude
import Kernel.Logic
/-!
# The IEEE-754 error bounds of `steer_tensor`, proved from the standard model

`steering_core/formal/bounds.py` states the float bounds the Hypothesis tests and the runtime
contracts use. They rest on one assumption, the *standard model* of a correctly rounded
operation (IEEE-754 round-to-nearest, Higham, *Accuracy and Stability of Numerical Algorithms*,
Thm 2.2): the computed `fl(x)` of an exact real `x` is `x (1 + d) + e` with `|d| ≤ u` and
`|e| ≤ η` (`η = 0` for a sum of two floats, whose underflow is exact). `Rounds u η x y` says
`y` is such a rounding of `x`; `rounds_of_standard_model` derives it from the multiplicative
form. The z3 proofs (`steering_core/formal/_fp_bounds.py`) state the same assumption with the
concrete units of each dtype; here the units are symbols, so one theorem covers every dtype
whose units meet the premises (`tests/formal/test_lean_float.py` checks that each dtype of
`bounds.steer_rounding` does, with exact rationals).

The arithmetic is any ordered commutative ring with an absolute value (`Arith`): every field is a
standard fact about `ℝ`. An ordered ring with `0 ≠ 1` is infinite, so the finite model that shows
these fields consistent is the one-point ring (`SteeringFloatModel.Point`, checked by this
kernel); `ℝ` is the intended model, and `rounds_exact` shows the rounding hypotheses satisfiable.

Theorems (one coordinate; `U = û` bounds every unit of the pipeline, `64 U ≤ 1`):
* `step_bound`: `|(fl(h + D) - h) - α v| ≤ 4 û |α v| + û |h| + 2 η_p + 2 η_a |v|`
  (`bounds.step_bound`, `K_STEP`; P-safe-alpha, P-perturbation-ratio);
* `additivity_bound`: `8 û (|h| + |a v| + |b v|) + 4 η_p + 4 η_a |v|` (`K_ADDITIVITY`; P-additivity);
* `composition_bound`: `9 û (|h| + |α u| + |α w|) + 4 η_p + 4 η_a (|u| + |w|)` (`K_COMPOSITION`);
* `commutation_bound`: `5 u (|h| + |δ_u| + |δ_w|)` (`K_COMMUTATION`; P-commutation);
* `scale_bound`: `8 û (|h| + |c α v|) + 2 η_vec |α| + 4 (η_a + η_64)(|v| + |c v|) + 4 η_p`
  (`K_SCALE`; P-scale-covariance);
* `unit_norm_bound`: `|M - 1| ≤ u + √d η + 4 g` (`bounds.unit_norm_tolerance`; P-unit-sphere);
* `quotient_bound`: `|fl(fl(p q)/n) - p q/n| ≤ 3 u X + 2 η (1 + 1/n)` (`bounds.quotient_bound`,
  `K_RATIO`, `K_ALPHA_MAX`; P-perturbation-ratio, P-alpha-max).

Their conclusions are linear forms `lin U x c = Σ c_i(U) x_i` whose coefficients are polynomials
in `U` (`pU k` is `k U`, `pK k` is `k`: `eval_pU`, `eval_pK`); a composed bound's coefficients
are computed and compared with the stated constants by the kernel (`Poly.le1`, sound by
`le1_sound`).
-/

universe u

noncomputable section

namespace SteeringFloat

/-- An ordered commutative ring with an absolute value: the arithmetic of the error analysis. -/
class Arith (R : Type u) where
  zero : R
  one : R
  add : R → R → R
  mul : R → R → R
  neg : R → R
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
  le_refl : ∀ a : R, le a a
  le_trans : ∀ a b c : R, le a b → le b c → le a c
  add_le_add : ∀ a b c d : R, le a b → le c d → le (add a c) (add b d)
  mul_le_mul_left : ∀ a b c : R, le zero c → le a b → le (mul c a) (mul c b)
  zero_le_one : le zero one
  abs_nonneg : ∀ a : R, le zero (abs a)
  abs_add : ∀ a b : R, le (abs (add a b)) (add (abs a) (abs b))
  abs_mul : ∀ a b : R, Eq (abs (mul a b)) (mul (abs a) (abs b))
  abs_neg : ∀ a : R, Eq (abs (neg a)) (abs a)
  abs_of_nonneg : ∀ a : R, le zero a → Eq (abs a) a
  le_abs_self : ∀ a : R, le a (abs a)

open Arith

variable {R : Type u} [Arith R]

/-- `a - b`. -/
def sub (a b : R) : R := add a (neg b)

/-- The standard model: `y` is a rounding of the exact value `x` with unit `u` and absolute
error `η`: `|y - x| ≤ u |x| + η`. -/
def Rounds (u η x y : R) : Prop := le (abs (sub y x)) (add (mul u (abs x)) η)

/-! ## Ring and order lemmas -/

theorem zero_add (a : R) : Eq (add zero a) a := Eq.trans (add_comm zero a) (add_zero a)

theorem add_left_comm (a b c : R) : Eq (add a (add b c)) (add b (add a c)) :=
  Eq.trans (Eq.symm (add_assoc a b c))
    (Eq.trans (congrArg (fun x => add x c) (add_comm a b)) (add_assoc b a c))

theorem add_right_comm (a b c : R) : Eq (add (add a b) c) (add (add a c) b) :=
  Eq.trans (add_assoc a b c) (Eq.trans (congrArg (add a) (add_comm b c)) (Eq.symm (add_assoc a c b)))

/-- `(a + b) + (c + d) = (a + c) + (b + d)`. -/
theorem add_add_add_comm (a b c d : R) : Eq (add (add a b) (add c d)) (add (add a c) (add b d)) :=
  Eq.trans (add_assoc a b (add c d))
    (Eq.trans (congrArg (add a) (add_left_comm b c d)) (Eq.symm (add_assoc a c (add b d))))

theorem add_mul (a b c : R) : Eq (mul (add a b) c) (add (mul a c) (mul b c)) :=
  Eq.trans (mul_comm (add a b) c)
    (Eq.trans (mul_add c a b) (congr2 add (mul_comm c a) (mul_comm c b)))

theorem one_mul (a : R) : Eq (mul one a) a := Eq.trans (mul_comm one a) (mul_one a)

theorem mul_zero (a : R) : Eq (mul a zero) zero :=
  let x := mul a zero
  let hx : Eq (add x x) x := Eq.trans (Eq.symm (mul_add a zero zero)) (congrArg (mul a) (add_zero zero))
  Eq.trans (Eq.symm (add_zero x))
    (Eq.trans (congrArg (add x) (Eq.symm (add_neg x)))
      (Eq.trans (Eq.symm (add_assoc x x (neg x))) (Eq.trans (congrArg (fun y => add y (neg x)) hx) (add_neg x))))

theorem le_of_eq {a b : R} (h : Eq a b) : le a b := Eq.subst (fun x => le a x) h (le_refl a)

theorem le_trans' {a b c : R} (h₁ : le a b) (h₂ : le b c) : le a c := le_trans a b c h₁ h₂

theorem eq_le_trans {a b c : R} (h₁ : Eq a b) (h₂ : le b c) : le a c := le_trans' (le_of_eq h₁) h₂

theorem le_eq_trans {a b c : R} (h₁ : le a b) (h₂ : Eq b c) : le a c := le_trans' h₁ (le_of_eq h₂)

theorem add_le_add' {a b c d : R} (h₁ : le a b) (h₂ : le c d) : le (add a c) (add b d) :=
  add_le_add a b c d h₁ h₂

theorem add_le_add_left' {a b : R} (c : R) (h : le a b) : le (add c a) (add c b) :=
  add_le_add' (le_refl c) h

theorem add_le_add_right' {a b : R} (c : R) (h : le a b) : le (add a c) (add b c) :=
  add_le_add' h (le_refl c)

theorem mul_le_mul_left' {a b c : R} (hc : le zero c) (h : le a b) : le (mul c a) (mul c b) :=
  mul_le_mul_left a b c hc h

theorem mul_le_mul_right' {a b c : R} (hc : le zero c) (h : le a b) : le (mul a c) (mul b c) :=
  eq_le_trans (mul_comm a c) (le_eq_trans (mul_le_mul_left' hc h) (mul_comm c b))

theorem mul_nonneg' {a b : R} (ha : le zero a) (hb : le zero b) : le zero (mul a b) :=
  eq_le_trans (Eq.symm (mul_zero a)) (mul_le_mul_left' ha hb)

theorem add_nonneg' {a b : R} (ha : le zero a) (hb : le zero b) : le zero (add a b) :=
  eq_le_trans (Eq.symm (add_zero zero)) (add_le_add' ha hb)

/-- `a ≤ a + b` for `b ≥ 0`. -/
theorem le_add_of_nonneg {a b : R} (hb : le zero b) : le a (add a b) :=
  eq_le_trans (Eq.symm (add_zero a)) (add_le_add_left' a hb)

/-- `a b ≤ c d` for `0 ≤ a ≤ c`, `0 ≤ b ≤ d`. -/
theorem mul_le_mul' {a b c d : R} (ha : le zero a) (hb : le zero b) (hac : le a c) (hbd : le b d) :
    le (mul a b) (mul c d) :=
  le_trans' (mul_le_mul_left' ha hbd) (mul_le_mul_right' (le_trans' hb hbd) hac)

theorem neg_add_eq (a b : R) : Eq (neg (add a b)) (add (neg a) (neg b)) :=
  -- both are inverses of `a + b`
  let s := add a b
  let t := add (neg a) (neg b)
  let hst : Eq (add s t) zero :=
    Eq.trans (add_add_add_comm a b (neg a) (neg b)) (Eq.trans (congr2 add (add_neg a) (add_neg b)) (add_zero zero))
  Eq.trans (Eq.symm (zero_add (neg s)))
    (Eq.trans (congrArg (fun x => add x (neg s)) (Eq.symm (Eq.trans (add_comm t s) hst)))
      (Eq.trans (add_assoc t s (neg s)) (Eq.trans (congrArg (add t) (add_neg s)) (add_zero t))))

/-- `(x - y) + (y - z) = x - z`. -/
theorem sub_add_sub (x y z : R) : Eq (add (sub x y) (sub y z)) (sub x z) :=
  Eq.trans (add_assoc x (neg y) (add y (neg z)))
    (congrArg (add x)
      (Eq.trans (Eq.symm (add_assoc (neg y) y (neg z)))
        (Eq.trans (congrArg (fun w => add w (neg z)) (Eq.trans (add_comm (neg y) y) (add_neg y))) (zero_add (neg z)))))

/-- `(x + y) - (x' + y') = (x - x') + (y - y')`. -/
theorem add_sub_add (x y x' y' : R) : Eq (sub (add x y) (add x' y')) (add (sub x x') (sub y y')) :=
  Eq.trans (congrArg (add (add x y)) (neg_add_eq x' y')) (add_add_add_comm x y (neg x') (neg y'))

/-- `x + (y - x) = y`. -/
theorem add_sub_cancel' (x y : R) : Eq (add x (sub y x)) y :=
  Eq.trans (congrArg (add x) (add_comm y (neg x)))
    (Eq.trans (Eq.symm (add_assoc x (neg x) y)) (Eq.trans (congrArg (fun w => add w y) (add_neg x)) (zero_add y)))

theorem sub_self' (x : R) : Eq (sub x x) zero := add_neg x

theorem abs_zero' : Eq (abs (zero : R)) zero := abs_of_nonneg zero (le_refl zero)

theorem le_of_abs (x : R) : le x (abs x) := le_abs_self x

/-- `a ≤ b + a` for `b ≥ 0`. -/
theorem le_add_of_nonneg_left {b : R} (hb : le zero b) (a : R) : le a (add b a) :=
  le_eq_trans (le_add_of_nonneg hb) (add_comm a b)

/-! ## Closeness: `|x - y| ≤ e` -/

/-- Triangle inequality through an intermediate value. -/
theorem close_trans {x y z e₁ e₂ : R} (h₁ : le (abs (sub x y)) e₁) (h₂ : le (abs (sub y z)) e₂) :
    le (abs (sub x z)) (add e₁ e₂) :=
  eq_le_trans (congrArg abs (Eq.symm (sub_add_sub x y z)))
    (le_trans' (abs_add (sub x y) (sub y z)) (add_le_add' h₁ h₂))

/-- Errors of two summands add. -/
theorem close_add {x y x' y' e₁ e₂ : R} (h₁ : le (abs (sub x x')) e₁) (h₂ : le (abs (sub y y')) e₂) :
    le (abs (sub (add x y) (add x' y'))) (add e₁ e₂) :=
  eq_le_trans (congrArg abs (add_sub_add x y x' y'))
    (le_trans' (abs_add (sub x x') (sub y y')) (add_le_add' h₁ h₂))

theorem close_refl (x : R) : le (abs (sub x x)) zero := le_of_eq (Eq.trans (congrArg abs (sub_self' x)) abs_zero')

/-- A value close to `x` is at most `|x| + e` in magnitude. -/
theorem abs_le_of_close {x y e : R} (h : le (abs (sub y x)) e) : le (abs y) (add (abs x) e) :=
  eq_le_trans (congrArg abs (Eq.symm (add_sub_cancel' x y))) (le_trans' (abs_add x (sub y x)) (add_le_add_left' (abs x) h))

theorem neg_neg' (a : R) : Eq (neg (neg a)) a :=
  Eq.trans (Eq.symm (add_zero (neg (neg a))))
    (Eq.trans (congrArg (add (neg (neg a))) (Eq.symm (Eq.trans (add_comm (neg a) a) (add_neg a))))
      (Eq.trans (Eq.symm (add_assoc (neg (neg a)) (neg a) a))
        (Eq.trans (congrArg (fun w => add w a) (Eq.trans (add_comm (neg (neg a)) (neg a)) (add_neg (neg a))))
          (zero_add a))))

theorem abs_sub_comm' (x y : R) : Eq (abs (sub x y)) (abs (sub y x)) :=
  let h : Eq (neg (sub x y)) (sub y x) :=
    Eq.trans (neg_add_eq x (neg y)) (Eq.trans (congrArg (add (neg x)) (neg_neg' y)) (add_comm (neg x) y))
  Eq.trans (Eq.symm (abs_neg (sub x y))) (congrArg abs h)

/-! ## The standard model -/

theorem rounds_of_standard_model {u η x y d e : R} (hy : Eq y (add (mul x (add one d)) e))
    (hd : le (abs d) u) (he : le (abs e) η) : Rounds u η x y :=
  -- `y - x = x d + e`
  let hxd : Eq (sub y x) (add (mul x d) e) :=
    Eq.trans (congrArg (fun w => sub w x) hy)
      (Eq.trans (congrArg (fun w => sub (add w e) x) (Eq.trans (mul_add x one d) (congrArg (fun w => add w (mul x d)) (mul_one x))))
        (Eq.trans (add_right_comm (add x (mul x d)) e (neg x))
          (congrArg (fun w => add w e)
            (Eq.trans (add_right_comm x (mul x d) (neg x))
              (Eq.trans (congrArg (fun w => add w (mul x d)) (add_neg x)) (zero_add (mul x d)))))))
  eq_le_trans (congrArg abs hxd)
    (le_trans' (abs_add (mul x d) e)
      (add_le_add'
        (eq_le_trans (abs_mul x d)
          (le_eq_trans (mul_le_mul_left' (abs_nonneg x) hd) (mul_comm (abs x) u)))
        he))

/-- A rounding with unit `u` is one with any larger unit `U`. -/
theorem rounds_mono {u U η x y : R} (r : Rounds u η x y) (hu : le u U) :
    le (abs (sub y x)) (add (mul U (abs x)) η) :=
  le_trans' r (add_le_add_right' η (mul_le_mul_right' (abs_nonneg x) hu))

/-- A sum rounded with unit `u ≤ U` (no underflow term). -/
theorem rounds_sum {u U x y : R} (r : Rounds u zero x y) (hu : le u U) :
    le (abs (sub y x)) (mul U (abs x)) :=
  le_eq_trans (rounds_mono r hu) (add_zero (mul U (abs x)))

/-- `x - (y + z) = (x - y) - z`. -/
theorem sub_add_eq (x y z : R) : Eq (sub x (add y z)) (sub (sub x y) z) :=
  Eq.trans (congrArg (add x) (neg_add_eq y z)) (Eq.symm (add_assoc x (neg y) (neg z)))

/-! ## The steering delta and the rounded sum -/

/-- The delta `D = fl_p(fl_a(α) v)` of the exact product `A = α v`: its error is at most
`S = (U (|A| + b₁) + P) + b₁` with `b₁ = U |A| + N` (`N = η_a |v|`, `P = η_p`). -/
theorem delta_close {u₁ u₂ U N P A a₁ D : R} (hU : le zero U) (hu₁ : le u₁ U) (hu₂ : le u₂ U)
    (r₁ : Rounds u₁ N A a₁) (r₂ : Rounds u₂ P a₁ D) :
    le (abs (sub D A))
      (add (add (mul U (add (abs A) (add (mul U (abs A)) N))) P) (add (mul U (abs A)) N)) :=
  let e₁ := rounds_mono r₁ hu₁
  close_trans
    (le_trans' (rounds_mono r₂ hu₂) (add_le_add_right' P (mul_le_mul_left' hU (abs_le_of_close e₁)))) e₁

/-- A rounded sum of two approximations: `|o - (x₀ + y₀)| ≤ U (|x₀| + |y₀| + (E_x + E_y)) + (E_x + E_y)`. -/
theorem sum_close {u U x y x₀ y₀ o Ex Ey : R} (hU : le zero U) (hu : le u U)
    (hx : le (abs (sub x x₀)) Ex) (hy : le (abs (sub y y₀)) Ey) (r : Rounds u zero (add x y) o) :
    le (abs (sub o (add x₀ y₀))) (add (mul U (add (add (abs x₀) (abs y₀)) (add Ex Ey))) (add Ex Ey)) :=
  let hxy := close_add hx hy
  close_trans
    (le_trans' (rounds_sum r hu)
      (mul_le_mul_left' hU (le_trans' (abs_le_of_close hxy) (add_le_add_right' (add Ex Ey) (abs_add x₀ y₀)))))
    hxy

/-! ## The realised step (`bounds.step_bound`, `K_STEP = 4`) -/

theorem le_one_of_four {U : R} (hU : le zero U) (h4 : le (add U (add U (add U U))) one) : le U one :=
  le_trans' (le_add_of_nonneg (add_nonneg' hU (add_nonneg' hU hU))) h4

/-- `(U + (U + (U + U))) x = U x + (U x + (U x + U x))`. -/
theorem four_mul (U x : R) :
    Eq (mul (add U (add U (add U U))) x) (add (mul U x) (add (mul U x) (add (mul U x) (mul U x)))) :=
  Eq.trans (add_mul U (add U (add U U)) x)
    (congrArg (add (mul U x)) (Eq.trans (add_mul U (add U U) x) (congrArg (add (mul U x)) (add_mul U U x))))

/-- `U (U a) + (U Q + (U (U Q) + U Q)) ≤ Q` when `4U ≤ 1` and `U a ≤ Q`: the second-order terms. -/
theorem remainder_le {U a Q : R} (hU : le zero U) (h4 : le (add U (add U (add U U))) one)
    (hQ : le zero Q) (haQ : le (mul U a) Q) :
    le (add (mul U (mul U a)) (add (mul U Q) (add (mul U (mul U Q)) (mul U Q)))) Q :=
  let hUQ : le (mul U Q) Q :=
    le_eq_trans (mul_le_mul_right' hQ (le_one_of_four hU h4)) (one_mul Q)
  le_trans'
    (add_le_add' (mul_le_mul_left' hU haQ)
      (add_le_add_left' (mul U Q) (add_le_add_right' (mul U Q) (mul_le_mul_left' hU hUQ))))
    (eq_le_trans (Eq.symm (four_mul U Q)) (le_eq_trans (mul_le_mul_right' hQ h4) (one_mul Q)))

/-- The realised step of `steer_tensor`: `out = fl(h + D)` with the delta `D = fl_p(fl_a(α) v)`
of the exact product `A = α v` (`r₁`: `fl_a(α) v` as a rounding of `A` with `N = η_a |v|`;
`r₂`: the product rounding with `P = η_p`; `r₃`: the sum, no underflow term). Every unit is at
most `U = û` and `4 û ≤ 1`. Then
`|(out - h) - A| ≤ 4 û |A| + û |h| + 2 η_p + 2 η_a |v|` (`bounds.step_bound`, `K_STEP = 4`). -/
theorem step_bound {u₁ u₂ u₃ U N P h A a₁ D o : R} (hU : le zero U)
    (h4 : le (add U (add U (add U U))) one) (hu₁ : le u₁ U) (hu₂ : le u₂ U) (hu₃ : le u₃ U)
    (hN : le zero N) (hP : le zero P)
    (r₁ : Rounds u₁ N A a₁) (r₂ : Rounds u₂ P a₁ D) (r₃ : Rounds u₃ zero (add h D) o) :
    le (abs (sub (sub o h) A))
      (add (mul (add U (add U (add U U))) (abs A)) (add (mul U (abs h)) (add (add P P) (add N N)))) :=
  let a := abs A
  let H := abs h
  let x := mul U a
  let Q := add (add x N) P
  let S := add (add (mul U (add a (add x N))) P) (add x N)
  let S' := add x (add Q (mul U Q))
  let hx : le zero x := mul_nonneg' hU (abs_nonneg A)
  let hQ : le zero Q := add_nonneg' (add_nonneg' hx hN) hP
  let hxQ : le x Q := le_trans' (le_add_of_nonneg hN) (le_add_of_nonneg hP)
  -- S ≤ S': `U (a + (x + N)) = x + U (x + N)` and `U (x + N) ≤ U Q`.
  let hSS : le S S' :=
    le_eq_trans
      (add_le_add_right' (add x N)
        (add_le_add_right' P
          (eq_le_trans (mul_add U a (add x N)) (add_le_add_left' x (mul_le_mul_left' hU (le_add_of_nonneg hP))))))
      (Eq.trans (add_assoc (add x (mul U Q)) P (add x N))
        (Eq.trans (add_assoc x (mul U Q) (add P (add x N)))
          (congrArg (add x) (Eq.trans (add_comm (mul U Q) (add P (add x N))) (congrArg (fun w => add w (mul U Q)) (add_comm P (add x N)))))))
  let eD : le (abs (sub D A)) S := delta_close hU hu₁ hu₂ r₁ r₂
  let eo := sum_close hU hu₃ (close_refl h) eD r₃
  -- |o - (h + A)| ≤ U ((H + a) + (0 + S)) + (0 + S)
  let hz : Eq (add zero S) S := zero_add S
  let e1 : le (abs (sub o (add h A))) (add (mul U (add H (add a S'))) S') :=
    le_trans' eo
      (add_le_add'
        (mul_le_mul_left' hU
          (eq_le_trans (Eq.trans (congrArg (add (add H a)) hz) (add_assoc H a S))
            (add_le_add_left' H (add_le_add_left' a hSS))))
        (eq_le_trans hz hSS))
  -- U (H + (a + S')) + S' = UH + (x + (x + (Q + REM))) with REM the second-order terms
  let r1 := mul U x
  let q1 := mul U Q
  let r2 := mul U q1
  let REM := add r1 (add q1 (add r2 q1))
  let hL : Eq (add (mul U (add H (add a S'))) S') (add (mul U H) (add x (add x (add Q REM)))) :=
    let R3 := add r1 (add q1 r2)
    Eq.trans
      (congrArg (fun w => add w S')
        (Eq.trans (mul_add U H (add a S'))
          (congrArg (add (mul U H))
            (Eq.trans (mul_add U a S')
              (congrArg (add x) (Eq.trans (mul_add U x (add Q q1)) (congrArg (add r1) (mul_add U Q q1))))))))
      (Eq.trans (add_assoc (mul U H) (add x R3) S')
        (congrArg (add (mul U H))
          (Eq.trans (add_assoc x R3 S')
            (congrArg (add x)
              (Eq.trans (add_left_comm R3 x (add Q q1))
                (congrArg (add x)
                  (Eq.trans (add_left_comm R3 Q q1)
                    (congrArg (add Q)
                      (Eq.trans (add_assoc r1 (add q1 r2) q1) (congrArg (add r1) (add_assoc q1 r2 q1)))))))))))
  -- the target is UH + (x + (x + (Q + Q)))
  let hT : Eq (add (mul U H) (add x (add x (add Q Q))))
      (add (mul (add U (add U (add U U))) a) (add (mul U H) (add (add P P) (add N N)))) :=
    let N2 := add N N
    let P2 := add P P
    -- Q + Q = (x + x) + (P2 + N2)
    let hQQ : Eq (add Q Q) (add (add x x) (add P2 N2)) :=
      Eq.trans (add_add_add_comm (add x N) P (add x N) P)
        (Eq.trans (congrArg (fun w => add w P2) (add_add_add_comm x N x N))
          (Eq.trans (add_assoc (add x x) N2 P2) (congrArg (add (add x x)) (add_comm N2 P2))))
    Eq.trans (congrArg (fun w => add (mul U H) (add x (add x w))) hQQ)
      (Eq.trans (congrArg (add (mul U H))
          (Eq.trans (congrArg (add x) (Eq.symm (add_assoc x (add x x) (add P2 N2))))
            (Eq.symm (add_assoc x (add x (add x x)) (add P2 N2)))))
        (Eq.trans (add_left_comm (mul U H) (add x (add x (add x x))) (add P2 N2))
          (congrArg (fun w => add w (add (mul U H) (add P2 N2))) (Eq.symm (four_mul U a)))))
  let goal_lhs : Eq (sub (sub o h) A) (sub o (add h A)) := Eq.symm (sub_add_eq o h A)
  eq_le_trans (congrArg abs goal_lhs)
    (le_trans' e1
      (eq_le_trans hL
        (le_eq_trans
          (add_le_add_left' (mul U H)
            (add_le_add_left' x (add_le_add_left' x (add_le_add_left' Q (remainder_le hU h4 hQ hxQ)))))
          hT)))

/-! ## Polynomials in the unit, and linear forms over the error atoms

The bounds below compose many roundings. Their coefficients are polynomials in the unit `U`
with natural coefficients (`Poly`, lowest degree first); the kernel adds and shifts them by
evaluation, and `Poly.le1` checks (by evaluation) that a polynomial is at most `q₀ + q₁ U` for
every `0 ≤ U` with `64 U ≤ 1`; `le1_sound` proves that check sound. An error bound is a linear
form `lin x c = c.h x.h + c.a x.a + c.b x.b + c.n x.n + c.p x.p` in five non-negative atoms. -/

/-- Unary natural numbers (named `Num`: the kernel treats the name `Nat` specially). -/
inductive Num : Type where
  | z : Num
  | s : Num → Num

def Num.add (m n : Num) : Num := Num.rec (motive := fun _ => Num) m (fun _ ih => Num.s ih) n
def Num.mul (m n : Num) : Num := Num.rec (motive := fun _ => Num) Num.z (fun _ ih => Num.add ih m) n
def Num.sub (m n : Num) : Num :=
  -- `m - n`, truncated: apply the predecessor `n` times
  Num.rec (motive := fun _ => Num) m (fun _ ih => Num.rec (motive := fun _ => Num) Num.z (fun k _ => k) ih) n
def Num.ble (m n : Num) : Bool :=
  Num.rec (motive := fun _ => Num → Bool) (fun _ => Bool.true)
    (fun _ ih n => Num.rec (motive := fun _ => Bool) Bool.false (fun k _ => ih k) n) m n
def Num.beq (m n : Num) : Bool :=
  Num.rec (motive := fun _ => Num → Bool)
    (fun n => Num.rec (motive := fun _ => Bool) Bool.true (fun _ _ => Bool.false) n)
    (fun _ ih n => Num.rec (motive := fun _ => Bool) Bool.false (fun k _ => ih k) n) m n

def n1 : Num := Num.s Num.z
def n2 : Num := Num.s n1
def n3 : Num := Num.s n2
def n4 : Num := Num.s n3
def n5 : Num := Num.s n4
def n6 : Num := Num.s n5
def n7 : Num := Num.s n6
def n8 : Num := Num.s n7
def n9 : Num := Num.s n8
def n64 : Num := Num.mul n8 n8

/-- `n` as an element of `R`. -/
def ofNum (n : Num) : R := Num.rec (motive := fun _ => R) zero (fun _ ih => add ih one) n

inductive List (α : Type u) : Type u where
  | nil : List α
  | cons : α → List α → List α

/-- `c₀ + c₁ U + c₂ U² + ...` as the list `[c₀, c₁, c₂, ...]`. -/
def Poly : Type := List Num

def Poly.eval (p : Poly) (U : R) : R :=
  List.rec (motive := fun _ => R) zero (fun c _ ih => add (ofNum c) (mul U ih)) p

def Poly.add (p q : Poly) : Poly :=
  List.rec (motive := fun _ => Poly → Poly) (fun q => q)
    (fun c p' ih q => List.rec (motive := fun _ => Poly) (List.cons c p') (fun d q' _ => List.cons (Num.add c d) (ih q')) q)
    p q

/-- `U p`. -/
def Poly.shift (p : Poly) : Poly := List.cons Num.z p

def Poly.head (p : Poly) : Num := List.rec (motive := fun _ => Num) Num.z (fun c _ _ => c) p
def Poly.tail (p : Poly) : Poly := List.rec (motive := fun _ => Poly) List.nil (fun _ t _ => t) p
def Poly.sum (p : Poly) : Num := List.rec (motive := fun _ => Num) Num.z (fun c _ ih => Num.add c ih) p

def band (a b : Bool) : Bool := Bool.rec (motive := fun _ => Bool) Bool.false b a

/-- `p ≤ q₀ + q₁ U` whenever `0 ≤ U` and `64 U ≤ 1`, by one of two sufficient tests:
(A) `p₀ ≤ q₀`, `p₁ ≤ q₁`, and the coefficients of degree ≥ 2, summed, are at most `64 (q₁ - p₁)`;
(B) `p₀ ≤ q₀` and the coefficients of degree ≥ 1, summed, are at most `64 (q₀ - p₀)`. -/
def Poly.le1A (p : Poly) (q₀ q₁ : Num) : Bool :=
  band (Num.ble (Poly.head p) q₀)
    (band (Num.ble (Poly.head (Poly.tail p)) q₁)
      (Num.ble (Poly.sum (Poly.tail (Poly.tail p))) (Num.mul n64 (Num.sub q₁ (Poly.head (Poly.tail p))))))

def Poly.le1B (p : Poly) (q₀ : Num) : Bool :=
  band (Num.ble (Poly.head p) q₀) (Num.ble (Poly.sum (Poly.tail p)) (Num.mul n64 (Num.sub q₀ (Poly.head p))))

def bor (a b : Bool) : Bool := Bool.rec (motive := fun _ => Bool) b Bool.true a

def Poly.le1 (p : Poly) (q₀ q₁ : Num) : Bool := bor (Poly.le1A p q₀ q₁) (Poly.le1B p q₀)

theorem bor_elim {a b : Bool} (h : Eq (bor a b) Bool.true) : Or (Eq a Bool.true) (Eq b Bool.true) :=
  Bool.rec (motive := fun a => Eq (bor a b) Bool.true → Or (Eq a Bool.true) (Eq b Bool.true))
    (fun h => Or.inr h) (fun _ => Or.inl (Eq.refl Bool.true)) a h

theorem band_left {a b : Bool} (h : Eq (band a b) Bool.true) : Eq a Bool.true :=
  Bool.rec (motive := fun a => Eq (band a b) Bool.true → Eq a Bool.true)
    (fun h => h) (fun _ => Eq.refl Bool.true) a h

theorem band_right {a b : Bool} (h : Eq (band a b) Bool.true) : Eq b Bool.true :=
  Bool.rec (motive := fun a => Eq (band a b) Bool.true → Eq b Bool.true)
    (fun h => absurd h Bool.false_ne_true) (fun h => h) a h

theorem ofNum_nonneg (n : Num) : le zero (ofNum (R := R) n) :=
  Num.rec (motive := fun n => le zero (ofNum (R := R) n)) (le_refl zero)
    (fun _ ih => eq_le_trans (Eq.symm (add_zero zero)) (add_le_add' ih zero_le_one)) n

theorem ofNum_add (m n : Num) : Eq (ofNum (R := R) (Num.add m n)) (add (ofNum m) (ofNum n)) :=
  Num.rec (motive := fun n => Eq (ofNum (R := R) (Num.add m n)) (add (ofNum m) (ofNum n)))
    (Eq.symm (add_zero (ofNum m)))
    (fun k ih => Eq.trans (congrArg (fun w => add w one) ih) (add_assoc (ofNum m) (ofNum k) one)) n

theorem ofNum_mul (m n : Num) : Eq (ofNum (R := R) (Num.mul m n)) (mul (ofNum n) (ofNum m)) :=
  Num.rec (motive := fun n => Eq (ofNum (R := R) (Num.mul m n)) (mul (ofNum n) (ofNum m)))
    (Eq.symm (Eq.trans (mul_comm zero (ofNum m)) (mul_zero (ofNum m))))
    (fun k ih =>
      Eq.trans (ofNum_add (Num.mul m k) m)
        (Eq.trans (congrArg (fun w => add w (ofNum m)) ih)
          (Eq.trans (congrArg (add (mul (ofNum k) (ofNum m))) (Eq.symm (one_mul (ofNum m))))
            (Eq.symm (add_mul (ofNum k) one (ofNum m)))))) n

theorem ble_sound (m n : Num) (h : Eq (Num.ble m n) Bool.true) : le (ofNum (R := R) m) (ofNum n) :=
  Num.rec (motive := fun m => ∀ n, Eq (Num.ble m n) Bool.true → le (ofNum (R := R) m) (ofNum n))
    (fun n _ => ofNum_nonneg n)
    (fun m ih n =>
      Num.rec (motive := fun n => Eq (Num.ble (Num.s m) n) Bool.true → le (ofNum (R := R) (Num.s m)) (ofNum n))
        (fun h => absurd h Bool.false_ne_true)
        (fun k _ h => add_le_add_right' one (ih k h)) n)
    m n h

theorem beq_sound (m n : Num) (h : Eq (Num.beq m n) Bool.true) : Eq m n :=
  Num.rec (motive := fun m => ∀ n, Eq (Num.beq m n) Bool.true → Eq m n)
    (fun n => Num.rec (motive := fun n => Eq (Num.beq Num.z n) Bool.true → Eq Num.z n)
      (fun _ => Eq.refl Num.z) (fun _ _ h => absurd h Bool.false_ne_true) n)
    (fun m ih n =>
      Num.rec (motive := fun n => Eq (Num.beq (Num.s m) n) Bool.true → Eq (Num.s m) n)
        (fun h => absurd h Bool.false_ne_true) (fun k _ h => congrArg Num.s (ih k h)) n)
    m n h

/-- `m ≤ n` (as Booleans) gives `n = m + (n - m)`. -/
theorem add_sub_of_ble (m n : Num) (h : Eq (Num.ble m n) Bool.true) : Eq (Num.add m (Num.sub n m)) n :=
  Num.rec (motive := fun m => ∀ n, Eq (Num.ble m n) Bool.true → Eq (Num.add m (Num.sub n m)) n)
    (fun n _ =>
      -- `0 + n = n`
      Num.rec (motive := fun n => Eq (Num.add Num.z n) n) (Eq.refl Num.z) (fun _ ih => congrArg Num.s ih) n)
    (fun m ih n =>
      Num.rec (motive := fun n => Eq (Num.ble (Num.s m) n) Bool.true → Eq (Num.add (Num.s m) (Num.sub n (Num.s m))) n)
        (fun h => absurd h Bool.false_ne_true)
        (fun k _ h => Eq.trans (succ_add_sub m k) (congrArg Num.s (ih k h))) n)
    m n h
where
  /-- `(m + 1) + ((k + 1) - (m + 1)) = (m + (k - m)) + 1`. -/
  succ_add_sub (m k : Num) : Eq (Num.add (Num.s m) (Num.sub (Num.s k) (Num.s m))) (Num.s (Num.add m (Num.sub k m))) :=
    Eq.trans (congrArg (Num.add (Num.s m)) (sub_succ_succ k m)) (succ_add m (Num.sub k m))
  sub_succ_succ (k m : Num) : Eq (Num.sub (Num.s k) (Num.s m)) (Num.sub k m) :=
    Num.rec (motive := fun m => Eq (Num.sub (Num.s k) (Num.s m)) (Num.sub k m)) (Eq.refl k)
      (fun _ ih => congrArg (fun w => Num.rec (motive := fun _ => Num) Num.z (fun k _ => k) w) ih) m
  succ_add (m n : Num) : Eq (Num.add (Num.s m) n) (Num.s (Num.add m n)) :=
    Num.rec (motive := fun n => Eq (Num.add (Num.s m) n) (Num.s (Num.add m n))) (Eq.refl (Num.s m))
      (fun _ ih => congrArg Num.s ih) n

theorem eval_padd (p q : Poly) (U : R) :
    Eq (Poly.eval (Poly.add p q) U) (add (Poly.eval p U) (Poly.eval q U)) :=
  List.rec (motive := fun p => ∀ q : Poly, Eq (Poly.eval (Poly.add p q) U) (add (Poly.eval p U) (Poly.eval q U)))
    (fun q => Eq.symm (zero_add (Poly.eval q U)))
    (fun c p' ih q =>
      List.rec (motive := fun q => Eq (Poly.eval (Poly.add (List.cons c p') q) U)
          (add (Poly.eval (List.cons c p') U) (Poly.eval q U)))
        (Eq.symm (add_zero (Poly.eval (List.cons c p') U)))
        (fun d q' _ =>
          Eq.trans
            (congr2 add (ofNum_add c d) (Eq.trans (congrArg (mul U) (ih q')) (mul_add U (Poly.eval p' U) (Poly.eval q' U))))
            (add_add_add_comm (ofNum c) (ofNum d) (mul U (Poly.eval p' U)) (mul U (Poly.eval q' U))))
        q)
    p q

theorem eval_shift (p : Poly) (U : R) : Eq (Poly.eval (Poly.shift p) U) (mul U (Poly.eval p U)) :=
  zero_add (mul U (Poly.eval p U))

theorem eval_nonneg (p : Poly) {U : R} (hU : le zero U) : le zero (Poly.eval p U) :=
  List.rec (motive := fun p => le zero (Poly.eval p U)) (le_refl zero)
    (fun c _ ih => add_nonneg' (ofNum_nonneg c) (mul_nonneg' hU ih)) p

/-- For `0 ≤ U ≤ 1` a polynomial is at most the sum of its coefficients. -/
theorem eval_le_sum (p : Poly) {U : R} (hU : le zero U) (h1 : le U one) :
    le (Poly.eval p U) (ofNum (Poly.sum p)) :=
  List.rec (motive := fun p => le (Poly.eval p U) (ofNum (Poly.sum p))) (le_refl zero)
    (fun c p' ih =>
      le_eq_trans
        (add_le_add_left' (ofNum c)
          (le_trans' (le_eq_trans (mul_le_mul_right' (eval_nonneg p' hU) h1) (one_mul (Poly.eval p' U))) ih))
        (Eq.symm (ofNum_add c (Poly.sum p'))))
    p

theorem eval_head_tail (p : Poly) (U : R) :
    Eq (Poly.eval p U) (add (ofNum (Poly.head p)) (mul U (Poly.eval (Poly.tail p) U))) :=
  List.rec (motive := fun p => Eq (Poly.eval p U) (add (ofNum (Poly.head p)) (mul U (Poly.eval (Poly.tail p) U))))
    (Eq.symm (Eq.trans (zero_add (mul U zero)) (mul_zero U)))
    (fun _ _ _ => Eq.refl _) p

theorem le_one_of_64 {U : R} (hU : le zero U) (h64 : le (mul (ofNum n64) U) one) : le U one :=
  le_trans' (eq_le_trans (Eq.symm (one_mul U))
    (mul_le_mul_right' hU (eq_le_trans (Eq.symm (Eq.trans (add_comm zero one) (add_zero one)))
      (ble_sound (R := R) (Num.s Num.z) n64 (Eq.refl Bool.true))))) h64

/-- Soundness of test (A) of `Poly.le1`. -/
theorem le1A_sound {p : Poly} {q₀ q₁ : Num} (h : Eq (Poly.le1A p q₀ q₁) Bool.true) {U : R} (hU : le zero U)
    (h64 : le (mul (ofNum n64) U) one) :
    le (Poly.eval p U) (add (ofNum q₀) (mul U (ofNum q₁))) :=
  let p₁ := Poly.head (Poly.tail p)
  let rest := Poly.tail (Poly.tail p)
  let k := Num.sub q₁ p₁
  let h0 := ble_sound (R := R) _ _ (band_left h)
  let h1 := band_right (band_right h)
  let hk : Eq (Num.add p₁ k) q₁ := add_sub_of_ble p₁ q₁ (band_left (band_right h))
  let hU1 : le U one := le_one_of_64 hU h64
  -- U r ≤ U · (64 k U) ≤ k, with r = rest(U) ≤ sum(rest) ≤ 64 k
  let hr : le (mul U (Poly.eval rest U)) (ofNum k) :=
    le_trans'
      (mul_le_mul_left' hU
        (le_trans' (eval_le_sum rest hU hU1)
          (le_eq_trans (ble_sound (R := R) _ _ h1) (ofNum_mul n64 k))))
      (eq_le_trans (Eq.trans (Eq.symm (mul_assoc U (ofNum k) (ofNum n64)))
          (Eq.trans (mul_comm (mul U (ofNum k)) (ofNum n64)) (Eq.trans (Eq.symm (mul_assoc (ofNum n64) U (ofNum k))) (Eq.refl _))))
        (le_eq_trans (mul_le_mul_right' (ofNum_nonneg k) h64) (one_mul (ofNum k))))
  -- p(U) = p₀ + U (p₁ + U r) ≤ q₀ + U (p₁ + k) = q₀ + U q₁
  eq_le_trans (eval_head_tail p U)
    (add_le_add' h0
      (mul_le_mul_left' hU
        (eq_le_trans (eval_head_tail (Poly.tail p) U)
          (le_eq_trans (add_le_add_left' (ofNum p₁) hr)
            (Eq.trans (Eq.symm (ofNum_add p₁ k)) (congrArg ofNum hk))))))

/-- Soundness of test (B) of `Poly.le1`. -/
theorem le1B_sound {p : Poly} {q₀ q₁ : Num} (h : Eq (Poly.le1B p q₀) Bool.true) {U : R} (hU : le zero U)
    (h64 : le (mul (ofNum n64) U) one) :
    le (Poly.eval p U) (add (ofNum q₀) (mul U (ofNum q₁))) :=
  let p₀ := Poly.head p
  let k := Num.sub q₀ p₀
  let hk : Eq (Num.add p₀ k) q₀ := add_sub_of_ble p₀ q₀ (band_left h)
  -- U tail(U) ≤ U · 64 k ≤ k
  let hr : le (mul U (Poly.eval (Poly.tail p) U)) (ofNum k) :=
    le_trans'
      (mul_le_mul_left' hU
        (le_trans' (eval_le_sum (Poly.tail p) hU (le_one_of_64 hU h64))
          (le_eq_trans (ble_sound (R := R) _ _ (band_right h)) (ofNum_mul n64 k))))
      (eq_le_trans (Eq.trans (Eq.symm (mul_assoc U (ofNum k) (ofNum n64)))
          (Eq.trans (mul_comm (mul U (ofNum k)) (ofNum n64)) (Eq.symm (mul_assoc (ofNum n64) U (ofNum k)))))
        (le_eq_trans (mul_le_mul_right' (ofNum_nonneg k) h64) (one_mul (ofNum k))))
  eq_le_trans (eval_head_tail p U)
    (le_trans' (le_eq_trans (add_le_add_left' (ofNum p₀) hr) (Eq.trans (Eq.symm (ofNum_add p₀ k)) (congrArg ofNum hk)))
      (le_add_of_nonneg (mul_nonneg' hU (ofNum_nonneg q₁))))

/-- Soundness of `Poly.le1`: `p(U) ≤ q₀ + q₁ U` for `0 ≤ U`, `64 U ≤ 1`. -/
theorem le1_sound {p : Poly} {q₀ q₁ : Num} (h : Eq (Poly.le1 p q₀ q₁) Bool.true) {U : R} (hU : le zero U)
    (h64 : le (mul (ofNum n64) U) one) : le (Poly.eval p U) (add (ofNum q₀) (mul U (ofNum q₁))) :=
  Or.elim (bor_elim h) (fun hA => le1A_sound hA hU h64) (fun hB => le1B_sound (q₁ := q₁) hB hU h64)

/-- `p(U) ≤ t(U)` when `Poly.le1 p t₀ t₁` holds for the first two coefficients of `t`. -/
theorem le1_sound' {p t : Poly} (h : Eq (Poly.le1 p (Poly.head t) (Poly.head (Poly.tail t))) Bool.true) {U : R}
    (hU : le zero U) (h64 : le (mul (ofNum n64) U) one) : le (Poly.eval p U) (Poly.eval t U) :=
  le_trans' (le1_sound h hU h64)
    (le_eq_trans
      (add_le_add_left' (ofNum (Poly.head t))
        (mul_le_mul_left' hU
          (le_eq_trans (le_add_of_nonneg (mul_nonneg' hU (eval_nonneg (Poly.tail (Poly.tail t)) hU)))
            (Eq.symm (eval_head_tail (Poly.tail t) U)))))
      (Eq.symm (eval_head_tail t U)))

/-- Five error atoms (or their five coefficients): a magnitude `h`, two magnitudes `a`, `b`, and
two absolute-error terms `n`, `p`. -/
structure Atoms (α : Type u) : Type u where
  h : α
  a : α
  b : α
  n : α
  p : α

/-- `c.h(U) x.h + c.a(U) x.a + c.b(U) x.b + c.n(U) x.n + c.p(U) x.p`. -/
def lin (U : R) (x : Atoms R) (c : Atoms Poly) : R :=
  add (mul (Poly.eval c.h U) x.h)
    (add (mul (Poly.eval c.a U) x.a)
      (add (mul (Poly.eval c.b U) x.b) (add (mul (Poly.eval c.n U) x.n) (mul (Poly.eval c.p U) x.p))))

def cadd (c d : Atoms Poly) : Atoms Poly :=
  Atoms.mk (Poly.add c.h d.h) (Poly.add c.a d.a) (Poly.add c.b d.b) (Poly.add c.n d.n) (Poly.add c.p d.p)

/-- `U c`. -/
def cshift (c : Atoms Poly) : Atoms Poly :=
  Atoms.mk (Poly.shift c.h) (Poly.shift c.a) (Poly.shift c.b) (Poly.shift c.n) (Poly.shift c.p)

def pone : Poly := List.cons n1 List.nil
def cz : Atoms Poly := Atoms.mk List.nil List.nil List.nil List.nil List.nil
def eH : Atoms Poly := Atoms.mk pone List.nil List.nil List.nil List.nil
def eA : Atoms Poly := Atoms.mk List.nil pone List.nil List.nil List.nil
def eB : Atoms Poly := Atoms.mk List.nil List.nil pone List.nil List.nil
def eN : Atoms Poly := Atoms.mk List.nil List.nil List.nil pone List.nil
def eP : Atoms Poly := Atoms.mk List.nil List.nil List.nil List.nil pone

/-- Every coefficient of `c` is at most the first two coefficients of `t`'s (see `Poly.le1`). -/
def Atoms.le1 (c t : Atoms Poly) : Bool :=
  band (Poly.le1 c.h (Poly.head t.h) (Poly.head (Poly.tail t.h)))
    (band (Poly.le1 c.a (Poly.head t.a) (Poly.head (Poly.tail t.a)))
      (band (Poly.le1 c.b (Poly.head t.b) (Poly.head (Poly.tail t.b)))
        (band (Poly.le1 c.n (Poly.head t.n) (Poly.head (Poly.tail t.n)))
          (Poly.le1 c.p (Poly.head t.p) (Poly.head (Poly.tail t.p))))))

def Atoms.Nonneg (x : Atoms R) : Prop :=
  And (le zero x.h) (And (le zero x.a) (And (le zero x.b) (And (le zero x.n) (le zero x.p))))

theorem mul_split (p q : Poly) (U x : R) :
    Eq (mul (Poly.eval (Poly.add p q) U) x) (add (mul (Poly.eval p U) x) (mul (Poly.eval q U) x)) :=
  Eq.trans (congrArg (fun w => mul w x) (eval_padd p q U)) (add_mul (Poly.eval p U) (Poly.eval q U) x)

theorem lin_add (U : R) (x : Atoms R) (c d : Atoms Poly) :
    Eq (lin U x (cadd c d)) (add (lin U x c) (lin U x d)) :=
  let t := fun (q : Poly) (y : R) => mul (Poly.eval q U) y
  Eq.trans
    (congr2 add (mul_split c.h d.h U x.h)
      (congr2 add (mul_split c.a d.a U x.a)
        (congr2 add (mul_split c.b d.b U x.b) (congr2 add (mul_split c.n d.n U x.n) (mul_split c.p d.p U x.p)))))
    (Eq.trans
      (congrArg (add (add (t c.h x.h) (t d.h x.h)))
        (Eq.trans
          (congrArg (add (add (t c.a x.a) (t d.a x.a)))
            (Eq.trans
              (congrArg (add (add (t c.b x.b) (t d.b x.b)))
                (add_add_add_comm (t c.n x.n) (t d.n x.n) (t c.p x.p) (t d.p x.p)))
              (add_add_add_comm (t c.b x.b) (t d.b x.b) (add (t c.n x.n) (t c.p x.p)) (add (t d.n x.n) (t d.p x.p)))))
          (add_add_add_comm (t c.a x.a) (t d.a x.a) _ _)))
      (add_add_add_comm (t c.h x.h) (t d.h x.h) _ _))

theorem mul_shift (q : Poly) (U x : R) : Eq (mul (Poly.eval (Poly.shift q) U) x) (mul U (mul (Poly.eval q U) x)) :=
  Eq.trans (congrArg (fun w => mul w x) (eval_shift q U)) (mul_assoc U (Poly.eval q U) x)

theorem lin_shift (U : R) (x : Atoms R) (c : Atoms Poly) : Eq (lin U x (cshift c)) (mul U (lin U x c)) :=
  let t := fun (q : Poly) (y : R) => mul (Poly.eval q U) y
  Eq.trans
    (congr2 add (mul_shift c.h U x.h)
      (congr2 add (mul_shift c.a U x.a)
        (congr2 add (mul_shift c.b U x.b) (congr2 add (mul_shift c.n U x.n) (mul_shift c.p U x.p)))))
    (Eq.symm
      (Eq.trans (mul_add U (t c.h x.h) _)
        (congrArg (add (mul U (t c.h x.h)))
          (Eq.trans (mul_add U (t c.a x.a) _)
            (congrArg (add (mul U (t c.a x.a)))
              (Eq.trans (mul_add U (t c.b x.b) _)
                (congrArg (add (mul U (t c.b x.b))) (mul_add U (t c.n x.n) (t c.p x.p)))))))))

theorem lin_le {U : R} {x : Atoms R} {c t : Atoms Poly} (hx : Atoms.Nonneg x) (hU : le zero U)
    (h64 : le (mul (ofNum n64) U) one) (h : Eq (Atoms.le1 c t) Bool.true) : le (lin U x c) (lin U x t) :=
  let hh := band_left h
  let ha := band_left (band_right h)
  let hb := band_left (band_right (band_right h))
  let hn := band_left (band_right (band_right (band_right h)))
  let hp := band_right (band_right (band_right (band_right h)))
  add_le_add' (mul_le_mul_right' (And.left hx) (le1_sound' hh hU h64))
    (add_le_add' (mul_le_mul_right' (And.left (And.right hx)) (le1_sound' ha hU h64))
      (add_le_add' (mul_le_mul_right' (And.left (And.right (And.right hx))) (le1_sound' hb hU h64))
        (add_le_add' (mul_le_mul_right' (And.left (And.right (And.right (And.right hx)))) (le1_sound' hn hU h64))
          (mul_le_mul_right' (And.right (And.right (And.right (And.right hx)))) (le1_sound' hp hU h64)))))

theorem zero_mul' (a : R) : Eq (mul zero a) zero := Eq.trans (mul_comm zero a) (mul_zero a)

theorem eval_pone (U : R) : Eq (Poly.eval pone U) one :=
  Eq.trans (congr2 add (zero_add one) (mul_zero U)) (add_zero one)

theorem one_mul_eval (U y : R) : Eq (mul (Poly.eval pone U) y) y :=
  Eq.trans (congrArg (fun w => mul w y) (eval_pone U)) (one_mul y)

theorem lin_cz (U : R) (x : Atoms R) : Eq (lin U x cz) zero :=
  let z := fun (y : R) => zero_mul' y
  Eq.trans (congr2 add (z x.h) (congr2 add (z x.a) (congr2 add (z x.b) (congr2 add (z x.n) (z x.p)))))
    (Eq.trans (zero_add _) (Eq.trans (zero_add _) (Eq.trans (zero_add _) (zero_add zero))))

theorem lin_eH (U : R) (x : Atoms R) : Eq (lin U x eH) x.h :=
  Eq.trans (congr2 add (one_mul_eval U x.h) (congr2 add (zero_mul' x.a) (congr2 add (zero_mul' x.b) (congr2 add (zero_mul' x.n) (zero_mul' x.p)))))
    (Eq.trans (congrArg (add x.h) (Eq.trans (zero_add _) (Eq.trans (zero_add _) (zero_add zero)))) (add_zero x.h))

theorem lin_eA (U : R) (x : Atoms R) : Eq (lin U x eA) x.a :=
  Eq.trans (congr2 add (zero_mul' x.h) (congrArg (add (mul (Poly.eval pone U) x.a)) (Eq.trans (congr2 add (zero_mul' x.b) (congr2 add (zero_mul' x.n) (zero_mul' x.p))) (Eq.trans (zero_add _) (zero_add zero)))))
    (Eq.trans (zero_add _) (Eq.trans (add_zero _) (one_mul_eval U x.a)))

theorem lin_eB (U : R) (x : Atoms R) : Eq (lin U x eB) x.b :=
  Eq.trans (congr2 add (zero_mul' x.h) (congr2 add (zero_mul' x.a) (congrArg (add (mul (Poly.eval pone U) x.b)) (Eq.trans (congr2 add (zero_mul' x.n) (zero_mul' x.p)) (zero_add zero)))))
    (Eq.trans (zero_add _) (Eq.trans (zero_add _) (Eq.trans (add_zero _) (one_mul_eval U x.b))))

theorem lin_eN (U : R) (x : Atoms R) : Eq (lin U x eN) x.n :=
  Eq.trans (congr2 add (zero_mul' x.h) (congr2 add (zero_mul' x.a) (congr2 add (zero_mul' x.b) (congr2 add (one_mul_eval U x.n) (zero_mul' x.p)))))
    (Eq.trans (zero_add _) (Eq.trans (zero_add _) (Eq.trans (zero_add _) (add_zero x.n))))

theorem lin_eP (U : R) (x : Atoms R) : Eq (lin U x eP) x.p :=
  Eq.trans (congr2 add (zero_mul' x.h) (congr2 add (zero_mul' x.a) (congr2 add (zero_mul' x.b) (congr2 add (zero_mul' x.n) (one_mul_eval U x.p)))))
    (Eq.trans (zero_add _) (Eq.trans (zero_add _) (Eq.trans (zero_add _) (zero_add x.p))))

/-! ### Error propagation in linear forms -/

section lin_rules
variable {U : R} {X : Atoms R}

theorem rounds_lin {u η x y : R} {m e : Atoms Poly} (hU : le zero U) (r : Rounds u η x y) (hu : le u U)
    (hm : le (abs x) (lin U X m)) (he : le η (lin U X e)) : le (abs (sub y x)) (lin U X (cadd (cshift m) e)) :=
  le_trans' (rounds_mono r hu)
    (le_eq_trans (add_le_add' (mul_le_mul_left' hU hm) he)
      (Eq.symm (Eq.trans (lin_add U X (cshift m) e) (congrArg (fun w => add w (lin U X e)) (lin_shift U X m)))))

/-- A rounding whose unit is at most `U + U²` (a float64 sum rounded again to work precision). -/
theorem rounds_lin2 {u η x y : R} {m e : Atoms Poly} (hU : le zero U) (r : Rounds u η x y)
    (hu : le u (add U (mul U U))) (hm : le (abs x) (lin U X m)) (he : le η (lin U X e)) :
    le (abs (sub y x)) (lin U X (cadd (cshift m) (cadd (cshift (cshift m)) e))) :=
  let hm' : le (mul u (abs x)) (add (mul U (lin U X m)) (mul U (mul U (lin U X m)))) :=
    le_trans' (mul_le_mul_right' (abs_nonneg x) hu)
      (eq_le_trans (add_mul U (mul U U) (abs x))
        (add_le_add' (mul_le_mul_left' hU hm)
          (eq_le_trans (mul_assoc U U (abs x)) (mul_le_mul_left' hU (mul_le_mul_left' hU hm)))))
  le_trans' r
    (le_eq_trans (add_le_add' hm' he)
      (Eq.symm
        (Eq.trans (lin_add U X (cshift m) (cadd (cshift (cshift m)) e))
          (Eq.trans (congr2 add (lin_shift U X m)
              (Eq.trans (lin_add U X (cshift (cshift m)) e)
                (congrArg (fun w => add w (lin U X e))
                  (Eq.trans (lin_shift U X (cshift m)) (congrArg (mul U) (lin_shift U X m))))))
            (Eq.symm (add_assoc (mul U (lin U X m)) (mul U (mul U (lin U X m))) (lin U X e)))))))

theorem close_trans_lin {x y z : R} {e₁ e₂ : Atoms Poly} (h₁ : le (abs (sub x y)) (lin U X e₁))
    (h₂ : le (abs (sub y z)) (lin U X e₂)) : le (abs (sub x z)) (lin U X (cadd e₁ e₂)) :=
  le_eq_trans (close_trans h₁ h₂) (Eq.symm (lin_add U X e₁ e₂))

theorem close_add_lin {x y x' y' : R} {e₁ e₂ : Atoms Poly} (h₁ : le (abs (sub x x')) (lin U X e₁))
    (h₂ : le (abs (sub y y')) (lin U X e₂)) : le (abs (sub (add x y) (add x' y'))) (lin U X (cadd e₁ e₂)) :=
  le_eq_trans (close_add h₁ h₂) (Eq.symm (lin_add U X e₁ e₂))

theorem abs_close_lin {x y : R} {m e : Atoms Poly} (he : le (abs (sub y x)) (lin U X e))
    (hm : le (abs x) (lin U X m)) : le (abs y) (lin U X (cadd m e)) :=
  le_trans' (abs_le_of_close he) (le_eq_trans (add_le_add_right' (lin U X e) hm) (Eq.symm (lin_add U X m e)))

theorem abs_add_lin {x y : R} {m₁ m₂ : Atoms Poly} (h₁ : le (abs x) (lin U X m₁)) (h₂ : le (abs y) (lin U X m₂)) :
    le (abs (add x y)) (lin U X (cadd m₁ m₂)) :=
  le_trans' (abs_add x y) (le_eq_trans (add_le_add' h₁ h₂) (Eq.symm (lin_add U X m₁ m₂)))

theorem close_refl_lin (x : R) : le (abs (sub x x)) (lin U X cz) :=
  le_eq_trans (close_refl x) (Eq.symm (lin_cz U X))

theorem zero_le_lin : le (zero : R) (lin U X cz) := le_of_eq (Eq.symm (lin_cz U X))

end lin_rules

/-! ## Additivity (`bounds.additivity_bound`, `K_ADDITIVITY = 8`) -/

/-- `k U` -/
def pU (k : Num) : Poly := List.cons Num.z (List.cons k List.nil)
/-- `k` -/
def pK (k : Num) : Poly := List.cons k List.nil

/-- Steering twice along `v` versus once with the Python (float64) sum `a + b`, for one
coordinate. Exact products `A = a v`, `B = b v`; `N = η_a |v|`, `P = η_p`. Left:
`s₁ = fl(h + D_a)`, `L = fl(s₁ + D_b)` with the deltas `D = fl_p(fl_a(α) v)` (`r₁`..`r₆`).
Right: `a + b` rounded in float64 then to work precision (unit `u_s ≤ U + U²`, `r₇`), the product
(`r₈`) and the sum `R = fl(h + D_{a+b})` (`r₉`). Every other unit is at most `U = û`, `64 U ≤ 1`.
Conclusion: `|L - R| ≤ 8 U (|h| + |A| + |B|) + 4 η_p + 4 η_a |v|`. -/
theorem additivity_bound {uα up uadd us U N P h A B a₁ Da s₁ b₁ Db L sb Dab Rr : R}
    (hU : le zero U) (h64 : le (mul (ofNum n64) U) one)
    (hα : le uα U) (hp : le up U) (hadd : le uadd U) (hs : le us (add U (mul U U)))
    (hN : le zero N) (hP : le zero P)
    (r₁ : Rounds uα N A a₁) (r₂ : Rounds up P a₁ Da) (r₃ : Rounds uadd zero (add h Da) s₁)
    (r₄ : Rounds uα N B b₁) (r₅ : Rounds up P b₁ Db) (r₆ : Rounds uadd zero (add s₁ Db) L)
    (r₇ : Rounds us N (add A B) sb) (r₈ : Rounds up P sb Dab) (r₉ : Rounds uadd zero (add h Dab) Rr) :
    le (abs (sub L Rr))
      (lin U (Atoms.mk (abs h) (abs A) (abs B) N P) (Atoms.mk (pU n8) (pU n8) (pU n8) (pK n4) (pK n4))) :=
  let X : Atoms R := Atoms.mk (abs h) (abs A) (abs B) N P
  let hX : Atoms.Nonneg X :=
    And.intro (abs_nonneg h) (And.intro (abs_nonneg A) (And.intro (abs_nonneg B) (And.intro hN hP)))
  let xH : le (abs h) (lin U X eH) := le_of_eq (Eq.symm (lin_eH U X))
  let xA : le (abs A) (lin U X eA) := le_of_eq (Eq.symm (lin_eA U X))
  let xB : le (abs B) (lin U X eB) := le_of_eq (Eq.symm (lin_eB U X))
  let xN : le N (lin U X eN) := le_of_eq (Eq.symm (lin_eN U X))
  let xP : le P (lin U X eP) := le_of_eq (Eq.symm (lin_eP U X))
  let z0 : le zero (lin U X cz) := zero_le_lin
  -- left: the delta of A, then s₁, the delta of B, then L
  let e₁ := rounds_lin hU r₁ hα xA xN
  let eDa := close_trans_lin (rounds_lin hU r₂ hp (abs_close_lin e₁ xA) xP) e₁
  let es₁ := close_trans_lin (rounds_lin hU r₃ hadd (abs_add_lin xH (abs_close_lin eDa xA)) z0)
    (close_add_lin (close_refl_lin h) eDa)
  let f₁ := rounds_lin hU r₄ hα xB xN
  let eDb := close_trans_lin (rounds_lin hU r₅ hp (abs_close_lin f₁ xB) xP) f₁
  let eL := close_trans_lin
    (rounds_lin hU r₆ hadd (abs_add_lin (abs_close_lin es₁ (abs_add_lin xH xA)) (abs_close_lin eDb xB)) z0)
    (close_add_lin es₁ eDb)
  -- right: the rounded sum, its delta, then R
  let xAB := abs_add_lin xA xB
  let k₁ := rounds_lin2 hU r₇ hs xAB xN
  let eDab := close_trans_lin (rounds_lin hU r₈ hp (abs_close_lin k₁ xAB) xP) k₁
  let eR := close_trans_lin (rounds_lin hU r₉ hadd (abs_add_lin xH (abs_close_lin eDab xAB)) z0)
    (close_add_lin (close_refl_lin h) eDab)
  let eR' := eq_le_trans (abs_sub_comm' (add (add h A) B) Rr)
    (Eq.subst (fun w => le (abs (sub Rr w)) (lin U X _)) (Eq.symm (add_assoc h A B)) eR)
  le_trans' (close_trans_lin eL eR') (lin_le hX hU h64 (Eq.refl Bool.true))

/-! ## Composition (`bounds.composition_bound`, `K_COMPOSITION = 9`) -/

/-- Two vectors `u`, `w` at one layer with one `α`, versus once with `fl_t(u + w)`, for one
coordinate. Exact products `A_u = α u`, `A_w = α w`; `n = η_a (|u| + |w|)`, `P = η_p`; the
alpha-rounding terms are `N_u = η_a |u| ≤ n`, `N_w = η_a |w| ≤ n`, and on the right
`N_q = η_a |fl_t(u + w)| ≤ n + U n` (as `|fl_t(u + w)| ≤ (1 + u_vec)(|u| + |w|)`). Left:
`s₁ = fl(h + D_u)`, `L = fl(s₁ + D_w)`. Right: `α fl_t(u + w)` is a rounding of `A_u + A_w` with
unit `u_vec` (`r₇`), then the delta (`r₈`, `r₉`) and `R = fl(h + D)` (`r₁₀`). Every unit is at
most `U = û`, `64 U ≤ 1`. Conclusion: `|L - R| ≤ 9 U (|h| + |A_u| + |A_w|) + 4 η_p + 4 n`. -/
theorem composition_bound {uα up uadd uvec U n Nu Nw Nq P h Au Aw a₁ Du s₁ b₁ Dw L aq c₁ D Rr : R}
    (hU : le zero U) (h64 : le (mul (ofNum n64) U) one)
    (hα : le uα U) (hp : le up U) (hadd : le uadd U) (hvec : le uvec U)
    (hn : le zero n) (hP : le zero P) (hNu : le Nu n) (hNw : le Nw n) (hNq : le Nq (add n (mul U n)))
    (r₁ : Rounds uα Nu Au a₁) (r₂ : Rounds up P a₁ Du) (r₃ : Rounds uadd zero (add h Du) s₁)
    (r₄ : Rounds uα Nw Aw b₁) (r₅ : Rounds up P b₁ Dw) (r₆ : Rounds uadd zero (add s₁ Dw) L)
    (r₇ : Rounds uvec zero (add Au Aw) aq) (r₈ : Rounds uα Nq aq c₁) (r₉ : Rounds up P c₁ D)
    (r₁₀ : Rounds uadd zero (add h D) Rr) :
    le (abs (sub L Rr))
      (lin U (Atoms.mk (abs h) (abs Au) (abs Aw) n P) (Atoms.mk (pU n9) (pU n9) (pU n9) (pK n4) (pK n4))) :=
  let X : Atoms R := Atoms.mk (abs h) (abs Au) (abs Aw) n P
  let hX : Atoms.Nonneg X :=
    And.intro (abs_nonneg h) (And.intro (abs_nonneg Au) (And.intro (abs_nonneg Aw) (And.intro hn hP)))
  let xH : le (abs h) (lin U X eH) := le_of_eq (Eq.symm (lin_eH U X))
  let xA : le (abs Au) (lin U X eA) := le_of_eq (Eq.symm (lin_eA U X))
  let xB : le (abs Aw) (lin U X eB) := le_of_eq (Eq.symm (lin_eB U X))
  let xn : le n (lin U X eN) := le_of_eq (Eq.symm (lin_eN U X))
  let xP : le P (lin U X eP) := le_of_eq (Eq.symm (lin_eP U X))
  let xNq : le Nq (lin U X (cadd eN (cshift eN))) :=
    le_trans' hNq
      (le_of_eq (Eq.symm (Eq.trans (lin_add U X eN (cshift eN))
        (congr2 add (lin_eN U X) (Eq.trans (lin_shift U X eN) (congrArg (mul U) (lin_eN U X)))))))
  let z0 : le zero (lin U X cz) := zero_le_lin
  let e₁ := rounds_lin hU r₁ hα xA (le_trans' hNu xn)
  let eDu := close_trans_lin (rounds_lin hU r₂ hp (abs_close_lin e₁ xA) xP) e₁
  let es₁ := close_trans_lin (rounds_lin hU r₃ hadd (abs_add_lin xH (abs_close_lin eDu xA)) z0)
    (close_add_lin (close_refl_lin h) eDu)
  let f₁ := rounds_lin hU r₄ hα xB (le_trans' hNw xn)
  let eDw := close_trans_lin (rounds_lin hU r₅ hp (abs_close_lin f₁ xB) xP) f₁
  let eL := close_trans_lin
    (rounds_lin hU r₆ hadd (abs_add_lin (abs_close_lin es₁ (abs_add_lin xH xA)) (abs_close_lin eDw xB)) z0)
    (close_add_lin es₁ eDw)
  let xAB := abs_add_lin xA xB
  let k₁ := rounds_lin hU r₇ hvec xAB z0
  let maq := abs_close_lin k₁ xAB
  let k₂ := rounds_lin hU r₈ hα maq xNq
  let k₃ := rounds_lin hU r₉ hp (abs_close_lin k₂ maq) xP
  let eD := close_trans_lin k₃ (close_trans_lin k₂ k₁)
  let eR := close_trans_lin (rounds_lin hU r₁₀ hadd (abs_add_lin xH (abs_close_lin eD xAB)) z0)
    (close_add_lin (close_refl_lin h) eD)
  let eR' := eq_le_trans (abs_sub_comm' (add (add h Au) Aw) Rr)
    (Eq.subst (fun w => le (abs (sub Rr w)) (lin U X _)) (Eq.symm (add_assoc h Au Aw)) eR)
  le_trans' (close_trans_lin eL eR') (lin_le hX hU h64 (Eq.refl Bool.true))

/-! ## Commutation (`bounds.commutation_bound`, `K_COMMUTATION = 5`) -/

/-- Two hooks on one layer in either order add the *same* rounded deltas `P`, `Q`; only the sums
round differently: `|fl(fl(h + P) + Q) - fl(fl(h + Q) + P)| ≤ 5 u (|h| + |P| + |Q|)` for sums
rounded with unit at most `U = u`, `64 U ≤ 1`. -/
theorem commutation_bound {u₁ u₂ u₃ u₄ U h P Q s₁ L s₂ Rr : R} (hU : le zero U) (h64 : le (mul (ofNum n64) U) one)
    (hu₁ : le u₁ U) (hu₂ : le u₂ U) (hu₃ : le u₃ U) (hu₄ : le u₄ U)
    (r₁ : Rounds u₁ zero (add h P) s₁) (r₂ : Rounds u₂ zero (add s₁ Q) L)
    (r₃ : Rounds u₃ zero (add h Q) s₂) (r₄ : Rounds u₄ zero (add s₂ P) Rr) :
    le (abs (sub L Rr))
      (lin U (Atoms.mk (abs h) (abs P) (abs Q) zero zero) (Atoms.mk (pU n5) (pU n5) (pU n5) List.nil List.nil)) :=
  let X : Atoms R := Atoms.mk (abs h) (abs P) (abs Q) zero zero
  let hX : Atoms.Nonneg X :=
    And.intro (abs_nonneg h) (And.intro (abs_nonneg P) (And.intro (abs_nonneg Q) (And.intro (le_refl zero) (le_refl zero))))
  let xH : le (abs h) (lin U X eH) := le_of_eq (Eq.symm (lin_eH U X))
  let xP : le (abs P) (lin U X eA) := le_of_eq (Eq.symm (lin_eA U X))
  let xQ : le (abs Q) (lin U X eB) := le_of_eq (Eq.symm (lin_eB U X))
  let z0 : le zero (lin U X cz) := zero_le_lin
  let e₁ := rounds_lin hU r₁ hu₁ (abs_add_lin xH xP) z0
  let eL := close_trans_lin (rounds_lin hU r₂ hu₂ (abs_add_lin (abs_close_lin e₁ (abs_add_lin xH xP)) xQ) z0)
    (close_add_lin e₁ (close_refl_lin Q))
  let e₂ := rounds_lin hU r₃ hu₃ (abs_add_lin xH xQ) z0
  let eR := close_trans_lin (rounds_lin hU r₄ hu₄ (abs_add_lin (abs_close_lin e₂ (abs_add_lin xH xQ)) xP) z0)
    (close_add_lin e₂ (close_refl_lin P))
  let eR' := eq_le_trans (abs_sub_comm' (add (add h P) Q) Rr)
    (Eq.subst (fun w => le (abs (sub Rr w)) (lin U X _)) (add_right_comm h Q P) eR)
  le_trans' (close_trans_lin eL eR') (lin_le hX hU h64 (Eq.refl Bool.true))

/-! ## Scale covariance (`bounds.scale_bound`, `K_SCALE = 8`) -/

/-- Two successive roundings `x → y → z` whose units add up to at most `U + U²` (a float64
product rounded again to work precision; for float64 the second rounding is exact). -/
theorem two_rounds_lin {U : R} {X : Atoms R} {u₁ u₂ η₁ η₂ x y z : R} {m e₁ e₂ : Atoms Poly} (hU : le zero U)
    (r₁ : Rounds u₁ η₁ x y) (r₂ : Rounds u₂ η₂ y z) (hu₁ : le u₁ U) (hu : le (add u₂ u₁) (add U (mul U U)))
    (hu₂ : le zero u₂) (hu₂U : le u₂ U) (hm : le (abs x) (lin U X m)) (he₁ : le η₁ (lin U X e₁)) (he₂ : le η₂ (lin U X e₂)) :
    le (abs (sub z x))
      (lin U X (cadd (cshift m) (cadd (cshift (cshift m)) (cadd (cshift (cadd (cshift m) e₁)) (cadd e₂ e₁))))) :=
  let a := mul u₂ (abs x)
  let t := add (mul u₁ (abs x)) η₁
  let b := mul u₂ t
  let d := mul u₁ (abs x)
  -- |z - x| ≤ ((a + b) + η₂) + (d + η₁)
  let h0 : le (abs (sub z x)) (add (add (add a b) η₂) (add d η₁)) :=
    close_trans
      (le_trans' r₂ (add_le_add_right' η₂
        (le_eq_trans (mul_le_mul_left' hu₂ (abs_le_of_close r₁)) (mul_add u₂ (abs x) t))))
      r₁
  -- regroup to (a + d) + (b + (η₂ + η₁))
  let hg : Eq (add (add (add a b) η₂) (add d η₁)) (add (add a d) (add b (add η₂ η₁))) :=
    Eq.trans (add_assoc (add a b) η₂ (add d η₁))
      (Eq.trans (add_assoc a b (add η₂ (add d η₁)))
        (Eq.trans
          (congrArg (add a)
            (Eq.trans (congrArg (add b) (add_left_comm η₂ d η₁)) (add_left_comm b d (add η₂ η₁))))
          (Eq.symm (add_assoc a d (add b (add η₂ η₁))))))
  let L := lin U X m
  let hlin : Eq (lin U X (cadd (cshift m) (cadd (cshift (cshift m)) (cadd (cshift (cadd (cshift m) e₁)) (cadd e₂ e₁)))))
      (add (mul U L) (add (mul U (mul U L)) (add (mul U (add (mul U L) (lin U X e₁))) (add (lin U X e₂) (lin U X e₁))))) :=
    Eq.trans (lin_add U X _ _)
      (congr2 add (lin_shift U X m)
        (Eq.trans (lin_add U X _ _)
          (congr2 add (Eq.trans (lin_shift U X (cshift m)) (congrArg (mul U) (lin_shift U X m)))
            (Eq.trans (lin_add U X _ _)
              (congr2 add
                (Eq.trans (lin_shift U X _) (congrArg (mul U) (Eq.trans (lin_add U X _ _) (congrArg (fun w => add w (lin U X e₁)) (lin_shift U X m)))))
                (lin_add U X e₂ e₁))))))
  let had : le (add a d) (add (mul U L) (mul U (mul U L))) :=
    eq_le_trans (Eq.symm (add_mul u₂ u₁ (abs x)))
      (le_trans' (mul_le_mul_right' (abs_nonneg x) hu)
        (eq_le_trans (add_mul U (mul U U) (abs x))
          (add_le_add' (mul_le_mul_left' hU hm)
            (eq_le_trans (mul_assoc U U (abs x)) (mul_le_mul_left' hU (mul_le_mul_left' hU hm))))))
  let ht : le zero t := le_trans' (abs_nonneg (sub y x)) r₁
  let hb : le b (mul U (add (mul U L) (lin U X e₁))) :=
    le_trans' (mul_le_mul_right' ht hu₂U)
      (mul_le_mul_left' hU (add_le_add' (le_trans' (mul_le_mul_right' (abs_nonneg x) hu₁) (mul_le_mul_left' hU hm)) he₁))
  le_trans' h0 (eq_le_trans hg (le_eq_trans (add_le_add' had (add_le_add' hb (add_le_add' he₂ he₁)))
    (Eq.trans (add_assoc (mul U L) (mul U (mul U L)) _) (Eq.symm hlin))))

/-- Scaling `v` by `c` (rounded once to the residual dtype) versus scaling `α` (the Python float64
product `c α`), for one coordinate. `A = c α v` exactly; atoms `|h|`, `|A|`, `E₁ = η_vec |α|`,
`E₂ = (η_a + η_64)(|v| + |c v|)`, `P = η_p`. Left: `α fl_t(c v)` is a rounding of `A` with unit
`u_vec` and error `E₁` (`r₁`); the alpha rounding's error `N_l = η_a |fl_t(c v)|` is at most
`E₂ + U E₂ + U P` (`hNl`: `|fl_t(c v)| ≤ (1 + u_vec)|c v| + η_vec` and `η_a η_vec ≤ U η_p`); then the
product (`r₃`) and `L = fl(h + D_l)` (`r₄`). Right: `fl64(c α) v` is a rounding of `A` (unit
`u_64`, error `N₆₄ = η_64 |v| ≤ E₂`), rounded again to work precision (unit `u_a`, error
`N_a = η_a |v| ≤ E₂`), with `u_a + u_64 ≤ U + U²`; then the product and `R = fl(h + D_r)`.
Every other unit is at most `U = û`, `64 U ≤ 1`. Conclusion:
`|L - R| ≤ 8 U (|h| + |c α v|) + 2 η_vec |α| + 4 (η_a + η_64)(|v| + |c v|) + 4 η_p`. -/
theorem scale_bound {uvec uα up uadd u64 U E₁ E₂ Nl N64 Na P h A aq a₁ Dl L c₁ c₂ Dr Rr : R}
    (hU : le zero U) (h64 : le (mul (ofNum n64) U) one)
    (hvec : le uvec U) (hα : le uα U) (hα0 : le zero uα) (hp : le up U) (hadd : le uadd U) (hu64 : le u64 U)
    (hjoint : le (add uα u64) (add U (mul U U)))
    (hE₁ : le zero E₁) (hE₂ : le zero E₂) (hP : le zero P)
    (hNl : le Nl (add E₂ (add (mul U E₂) (mul U P)))) (hN64 : le N64 E₂) (hNa : le Na E₂)
    (r₁ : Rounds uvec E₁ A aq) (r₂ : Rounds uα Nl aq a₁) (r₃ : Rounds up P a₁ Dl) (r₄ : Rounds uadd zero (add h Dl) L)
    (r₅ : Rounds u64 N64 A c₁) (r₆ : Rounds uα Na c₁ c₂) (r₇ : Rounds up P c₂ Dr) (r₈ : Rounds uadd zero (add h Dr) Rr) :
    le (abs (sub L Rr))
      (lin U (Atoms.mk (abs h) (abs A) E₁ E₂ P) (Atoms.mk (pU n8) (pU n8) (pK n2) (pK n4) (pK n4))) :=
  let X : Atoms R := Atoms.mk (abs h) (abs A) E₁ E₂ P
  let hX : Atoms.Nonneg X :=
    And.intro (abs_nonneg h) (And.intro (abs_nonneg A) (And.intro hE₁ (And.intro hE₂ hP)))
  let xH : le (abs h) (lin U X eH) := le_of_eq (Eq.symm (lin_eH U X))
  let xA : le (abs A) (lin U X eA) := le_of_eq (Eq.symm (lin_eA U X))
  let xE₁ : le E₁ (lin U X eB) := le_of_eq (Eq.symm (lin_eB U X))
  let xE₂ : le E₂ (lin U X eN) := le_of_eq (Eq.symm (lin_eN U X))
  let xP : le P (lin U X eP) := le_of_eq (Eq.symm (lin_eP U X))
  let xNl : le Nl (lin U X (cadd eN (cadd (cshift eN) (cshift eP)))) :=
    le_trans' hNl
      (le_of_eq (Eq.symm (Eq.trans (lin_add U X _ _)
        (congr2 add (lin_eN U X)
          (Eq.trans (lin_add U X _ _)
            (congr2 add (Eq.trans (lin_shift U X eN) (congrArg (mul U) (lin_eN U X)))
              (Eq.trans (lin_shift U X eP) (congrArg (mul U) (lin_eP U X)))))))))
  let z0 : le zero (lin U X cz) := zero_le_lin
  -- left
  let e₁ := rounds_lin hU r₁ hvec xA xE₁
  let maq := abs_close_lin e₁ xA
  let e₂ := rounds_lin hU r₂ hα maq xNl
  let e₃ := rounds_lin hU r₃ hp (abs_close_lin e₂ maq) xP
  let eDl := close_trans_lin e₃ (close_trans_lin e₂ e₁)
  let eL := close_trans_lin (rounds_lin hU r₄ hadd (abs_add_lin xH (abs_close_lin eDl xA)) z0)
    (close_add_lin (close_refl_lin h) eDl)
  -- right
  let k := two_rounds_lin hU r₅ r₆ hu64 hjoint hα0 hα xA (le_trans' hN64 xE₂) (le_trans' hNa xE₂)
  let eDr := close_trans_lin (rounds_lin hU r₇ hp (abs_close_lin k xA) xP) k
  let eR := close_trans_lin (rounds_lin hU r₈ hadd (abs_add_lin xH (abs_close_lin eDr xA)) z0)
    (close_add_lin (close_refl_lin h) eDr)
  let eR' := eq_le_trans (abs_sub_comm' (add h A) Rr) eR
  le_trans' (close_trans_lin eL eR') (lin_le hX hU h64 (Eq.refl Bool.true))

/-! ## Unit norm (`bounds.unit_norm_tolerance`) -/

/-- The scalar step of the unit-norm tolerance (valid for every width `d`, as in the z3 check
`unit_scalar`): `N_x = ‖x‖` of the float64 unit vector is within `g` of 1; the rounding error
vector `e = y - x` has norm `N_e ≤ u N_x + s` (`s = √d η`, Minkowski over the per-entry standard
model); `|N_y - N_x| ≤ N_e` (triangle inequality); the float64 measurement `M` of `N_y = ‖y‖`
is within `g N_y`. With `g + 3u + s ≤ 1`: `|M - 1| ≤ u + s + 4g`. -/
theorem unit_norm_bound {g u s Nx Ne Ny M : R} (hg : le zero g) (hu : le zero u) (hs : le zero s)
    (hsmall : le (add g (add (add u u) (add u s))) one)
    (hx : le (abs (sub Nx one)) g) (he : le Ne (add (mul u Nx) s)) (hy : le (abs (sub Ny Nx)) Ne)
    (hy0 : le zero Ny) (hm : le (abs (sub M Ny)) (mul g Ny)) :
    le (abs (sub M one)) (add (add u s) (add (add g g) (add g g))) :=
  let one_abs : Eq (abs (one : R)) one := abs_of_nonneg one zero_le_one
  let hNx : le (abs Nx) (add one g) := eq_le_trans (Eq.refl _) (le_eq_trans (abs_le_of_close hx) (congrArg (fun w => add w g) one_abs))
  let hNx' : le Nx (add one g) := le_trans' (le_trans' (le_refl Nx) (le_of_abs Nx)) hNx
  let e := add (add u (mul u g)) s
  let hNe : le Ne e :=
    le_trans' he (add_le_add_right' s (le_eq_trans (mul_le_mul_left' hu hNx') (Eq.trans (mul_add u one g) (congrArg (fun w => add w (mul u g)) (mul_one u)))))
  let hNy : le Ny (add (add one g) e) :=
    eq_le_trans (Eq.symm (abs_of_nonneg Ny hy0)) (le_trans' (abs_le_of_close hy) (add_le_add' hNx hNe))
  -- |M - 1| ≤ g N_y + (N_e + g) ≤ g ((1 + g) + e) + (e + g)
  let h0 : le (abs (sub M one)) (add (mul g (add (add one g) e)) (add e g)) :=
    le_trans' (close_trans hm (close_trans hy hx))
      (add_le_add' (mul_le_mul_left' hg hNy) (add_le_add_right' g hNe))
  -- smallness: g ≤ 1, u ≤ 1, u g ≤ u, and g + e ≤ 1
  let hg1 : le g one := le_trans' (le_add_of_nonneg (add_nonneg' (add_nonneg' hu hu) (add_nonneg' hu hs))) hsmall
  let hug : le (mul u g) u := le_eq_trans (mul_le_mul_left' hu hg1) (mul_one u)
  let hu1 : le u one :=
    le_trans' (le_trans' (le_add_of_nonneg hu) (le_add_of_nonneg (add_nonneg' hu hs)))
      (le_trans' (eq_le_trans (Eq.symm (zero_add (add (add u u) (add u s)))) (add_le_add_right' _ hg)) hsmall)
  let hge : le (add g e) one :=
    le_trans' (add_le_add_left' g (add_le_add_right' s (add_le_add_left' u hug)))
      (le_trans' (add_le_add_left' g (add_le_add_left' (add u u) (le_add_of_nonneg_left hu s))) hsmall)
  let X := mul g (add g e)
  let Y := mul u g
  let hX : le X g := le_eq_trans (mul_le_mul_left' hg hge) (mul_one g)
  let hY : le Y g := le_eq_trans (eq_le_trans (mul_comm u g) (mul_le_mul_left' hg hu1)) (mul_one g)
  -- g ((1 + g) + e) + (e + g) = (u + s) + ((g + g) + (X + Y))
  let hexp : Eq (mul g (add (add one g) e)) (add g X) :=
    Eq.trans (congrArg (mul g) (add_assoc one g e)) (Eq.trans (mul_add g one (add g e)) (congrArg (fun w => add w X) (mul_one g)))
  let hreg : Eq (add (add g X) (add e g)) (add (add u s) (add (add g g) (add X Y))) :=
    Eq.trans (congrArg (fun w => add (add g X) (add w g)) (add_right_comm u Y s))
      (Eq.trans (congrArg (add (add g X)) (add_assoc (add u s) Y g))
        (Eq.trans (add_left_comm (add g X) (add u s) (add Y g))
          (congrArg (add (add u s))
            (Eq.trans (congrArg (add (add g X)) (add_comm Y g)) (add_add_add_comm g X g Y)))))
  le_trans' h0
    (eq_le_trans (congrArg (fun w => add w (add e g)) hexp)
      (eq_le_trans hreg (add_le_add_left' (add u s) (add_le_add_left' (add g g) (add_le_add' hX hY)))))

/-! ## Float64 quotients (`bounds.quotient_bound`, `K_RATIO = K_ALPHA_MAX = 3`) -/

/-- `perturbation_ratio` (`|α| n_v / n_h`) and `safe_alpha_max` (`ρ n_h / n_v`) compute
`fl(fl(p q) / n)` in float64 for `p, q, n > 0`. With `X = p q / n` and `Y = 1 / n`: `fl(p q) / n` is
a rounding of `X` with error `η Y` (`r₁`: the product's standard model divided by `n`), and the
quotient rounds that again (`r₂`). With `u ≤ U`, `64 U ≤ 1`:
`|fl(fl(p q)/n) - X| ≤ 3 U |X| + 2 η (1 + Y)`. -/
theorem quotient_bound {u U X Y η x₁ x₂ : R} (hU : le zero U) (h64 : le (mul (ofNum n64) U) one)
    (hu : le u U) (hη : le zero η) (hY : le zero Y)
    (r₁ : Rounds u (mul η Y) X x₁) (r₂ : Rounds u η x₁ x₂) :
    le (abs (sub x₂ X))
      (lin U (Atoms.mk (abs X) zero zero (mul η Y) η) (Atoms.mk (pU n3) List.nil List.nil (pK n2) (pK n2))) :=
  let V : Atoms R := Atoms.mk (abs X) zero zero (mul η Y) η
  let hV : Atoms.Nonneg V :=
    And.intro (abs_nonneg X) (And.intro (le_refl zero) (And.intro (le_refl zero) (And.intro (mul_nonneg' hη hY) hη)))
  let xX : le (abs X) (lin U V eH) := le_of_eq (Eq.symm (lin_eH U V))
  let xN : le (mul η Y) (lin U V eN) := le_of_eq (Eq.symm (lin_eN U V))
  let xP : le η (lin U V eP) := le_of_eq (Eq.symm (lin_eP U V))
  let e₁ := rounds_lin hU r₁ hu xX xN
  let e₂ := rounds_lin hU r₂ hu (abs_close_lin e₁ xX) xP
  le_trans' (close_trans_lin e₂ e₁) (lin_le hV hU h64 (Eq.refl Bool.true))

/-! ## Reading the linear forms, and non-vacuity -/

/-- `pU k` is `k U`. -/
theorem eval_pU (k : Num) (U : R) : Eq (Poly.eval (pU k) U) (mul U (ofNum k)) :=
  Eq.trans (zero_add _) (congrArg (mul U) (Eq.trans (congrArg (add (ofNum k)) (mul_zero U)) (add_zero (ofNum k))))

/-- `pK k` is `k`. -/
theorem eval_pK (k : Num) (U : R) : Eq (Poly.eval (pK k) U) (ofNum k) :=
  Eq.trans (congrArg (add (ofNum k)) (mul_zero U)) (add_zero (ofNum k))

/-- The hypotheses are satisfiable: exact arithmetic (`fl(x) = x`) is a rounding for any units. -/
theorem rounds_exact {u η : R} (x : R) (hu : le zero u) (hη : le zero η) : Rounds u η x x :=
  le_trans' (close_refl x) (add_nonneg' (mul_nonneg' hu (abs_nonneg x)) hη)

end SteeringFloat

namespace SteeringFloatModel

/-- The one-point ring: every ordered ring with `0 ≠ 1` is infinite (`0 < 1 < 1 + 1 < ...`), so
this is the finite model of `Arith`; it shows the class's fields are consistent. `ℝ` (with
`fl` = round-to-nearest of a binary format, whose standard model is Higham's Theorem 2.2) is the
intended model. -/
inductive Point : Type where
  | pt : Point

instance arith : SteeringFloat.Arith Point where
  zero := Point.pt
  one := Point.pt
  add := fun _ _ => Point.pt
  mul := fun _ _ => Point.pt
  neg := fun _ => Point.pt
  abs := fun _ => Point.pt
  le := fun _ _ => True
  add_assoc := fun _ _ _ => Eq.refl Point.pt
  add_comm := fun _ _ => Eq.refl Point.pt
  add_zero := fun a => Point.rec (motive := fun a => Eq Point.pt a) (Eq.refl Point.pt) a
  add_neg := fun _ => Eq.refl Point.pt
  mul_assoc := fun _ _ _ => Eq.refl Point.pt
  mul_comm := fun _ _ => Eq.refl Point.pt
  mul_one := fun a => Point.rec (motive := fun a => Eq Point.pt a) (Eq.refl Point.pt) a
  mul_add := fun _ _ _ => Eq.refl Point.pt
  le_refl := fun _ => True.intro
  le_trans := fun _ _ _ _ _ => True.intro
  add_le_add := fun _ _ _ _ _ _ => True.intro
  mul_le_mul_left := fun _ _ _ _ _ => True.intro
  zero_le_one := True.intro
  abs_nonneg := fun _ => True.intro
  abs_add := fun _ _ => True.intro
  abs_mul := fun _ _ => Eq.refl Point.pt
  abs_neg := fun _ => Eq.refl Point.pt
  abs_of_nonneg := fun a _ => Point.rec (motive := fun a => Eq Point.pt a) (Eq.refl Point.pt) a
  le_abs_self := fun _ => True.intro

end SteeringFloatModel

end
