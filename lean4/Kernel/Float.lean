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
these fields consistent is the one-point ring (`Point` below, checked by this kernel); `ℝ` is the
intended model.
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

end SteeringFloat

end
