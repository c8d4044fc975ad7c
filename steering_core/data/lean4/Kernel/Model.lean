prelude
import Kernel.Steering
/-!
# Non-vacuity: a finite model of the steering classes

The steering laws of `Kernel/Steering.lean` are proved from the fields of `Scalar` and `Space`.
Were those hypotheses contradictory, every theorem would hold vacuously. This file builds a
finite model of both classes, and the same kernel checks every field, so they are consistent:

* scalars `F3 = {-1, 0, 1}`, the field `ℤ/3` (`1 + 1 = -1`), with the order `-1 < 0 < 1`,
  `|x|` the usual absolute value and `x⁻¹ = x` (in `ℤ/3`, `1⁻¹ = 1`, `(-1)⁻¹ = -1`, `0⁻¹ = 0`);
* vectors `V = F3 × F3` with componentwise operations, the norm `0` on the zero vector and `1`
  elsewhere, and decidable equality.

It is not a model of the reals (the order is not compatible with addition; the classes do not
ask for that), but it satisfies every field, it has `0 ≠ 1` and non-zero vectors, so
`unit_sphere`, `alphaMax_greatest`, `ratio_smul` etc. apply to it with satisfiable premises
(`model_nontrivial` below). `ℝ^d` satisfies the classes for the reasons given in
`Kernel/Steering.lean` (each field is a standard fact, proved in Mathlib).

Every field is checked by evaluation: a Boolean test over all elements (at most `9^3` cases) is
reduced to `true` by the kernel (`Eq.refl true`), and a soundness lemma turns it into the law.
-/

universe u

noncomputable section

namespace SteeringModel

/-! ## Boolean reflection -/

def band (a b : Bool) : Bool := Bool.rec (motive := fun _ => Bool) Bool.false b a
def bor (a b : Bool) : Bool := Bool.rec (motive := fun _ => Bool) b Bool.true a
def bnot (a : Bool) : Bool := Bool.rec (motive := fun _ => Bool) Bool.true Bool.false a
/-- `a → b` on Booleans. -/
def bimp (a b : Bool) : Bool := bor (bnot a) b
/-- Equality of Booleans. -/
def bbeq (a b : Bool) : Bool := Bool.rec (motive := fun _ => Bool) (bnot b) b a

theorem band_left {a b : Bool} (h : Eq (band a b) Bool.true) : Eq a Bool.true :=
  Bool.rec (motive := fun a => Eq (band a b) Bool.true → Eq a Bool.true)
    (fun h => h) (fun _ => Eq.refl Bool.true) a h

theorem band_right {a b : Bool} (h : Eq (band a b) Bool.true) : Eq b Bool.true :=
  Bool.rec (motive := fun a => Eq (band a b) Bool.true → Eq b Bool.true)
    (fun h => absurd h Bool.false_ne_true) (fun h => h) a h

theorem bor_elim {a b : Bool} (h : Eq (bor a b) Bool.true) : Or (Eq a Bool.true) (Eq b Bool.true) :=
  Bool.rec (motive := fun a => Eq (bor a b) Bool.true → Or (Eq a Bool.true) (Eq b Bool.true))
    (fun h => Or.inr h) (fun _ => Or.inl (Eq.refl Bool.true)) a h

theorem bimp_elim {a b : Bool} (h : Eq (bimp a b) Bool.true) (ha : Eq a Bool.true) : Eq b Bool.true :=
  Bool.rec (motive := fun a => Eq (bimp a b) Bool.true → Eq a Bool.true → Eq b Bool.true)
    (fun _ ha => absurd ha Bool.false_ne_true) (fun h _ => h) a h ha

theorem bbeq_eq {a b : Bool} (h : Eq (bbeq a b) Bool.true) : Eq a b :=
  Bool.rec (motive := fun a => Eq (bbeq a b) Bool.true → Eq a b)
    (Bool.rec (motive := fun b => Eq (bbeq Bool.false b) Bool.true → Eq Bool.false b)
      (fun _ => Eq.refl Bool.false) (fun h => absurd h Bool.false_ne_true) b)
    (Bool.rec (motive := fun b => Eq (bbeq Bool.true b) Bool.true → Eq Bool.true b)
      (fun h => absurd h Bool.false_ne_true) (fun _ => Eq.refl Bool.true) b) a h

/-! ## The scalars `F3 = {-1, 0, 1}` -/

inductive F3 : Type where
  | m : F3
  | z : F3
  | p : F3

/-- Case split on a scalar: the value for `-1`, for `0` and for `1`. -/
def F3.cases {α : Sort u} (x : F3) (am az ap : α) : α := F3.rec (motive := fun _ => α) am az ap x

def F3.add (a b : F3) : F3 :=
  F3.cases a (F3.cases b F3.p F3.m F3.z) b (F3.cases b F3.z F3.p F3.m)
def F3.mul (a b : F3) : F3 := F3.cases a (F3.cases b F3.p F3.z F3.m) F3.z b
def F3.neg (a : F3) : F3 := F3.cases a F3.p F3.z F3.m
def F3.inv (a : F3) : F3 := a
def F3.abs (a : F3) : F3 := F3.cases a F3.p F3.z F3.p
/-- The order `-1 < 0 < 1`. -/
def F3.leb (a b : F3) : Bool :=
  F3.cases a Bool.true (F3.cases b Bool.false Bool.true Bool.true) (F3.cases b Bool.false Bool.false Bool.true)
def F3.le (a b : F3) : Prop := Eq (F3.leb a b) Bool.true
def F3.beq (a b : F3) : Bool :=
  F3.cases a (F3.cases b Bool.true Bool.false Bool.false) (F3.cases b Bool.false Bool.true Bool.false)
    (F3.cases b Bool.false Bool.false Bool.true)
/-- The test is true on all three scalars. -/
def F3.all (f : F3 → Bool) : Bool := band (f F3.m) (band (f F3.z) (f F3.p))

theorem F3.all_sound {f : F3 → Bool} (h : Eq (F3.all f) Bool.true) (x : F3) : Eq (f x) Bool.true :=
  F3.rec (motive := fun x => Eq (f x) Bool.true) (band_left h) (band_left (band_right h))
    (band_right (band_right h)) x

theorem F3.beq_sound {a b : F3} (h : Eq (F3.beq a b) Bool.true) : Eq a b :=
  F3.rec (motive := fun a => Eq (F3.beq a b) Bool.true → Eq a b)
    (F3.rec (motive := fun b => Eq (F3.beq F3.m b) Bool.true → Eq F3.m b)
      (fun _ => Eq.refl F3.m) (fun h => absurd h Bool.false_ne_true) (fun h => absurd h Bool.false_ne_true) b)
    (F3.rec (motive := fun b => Eq (F3.beq F3.z b) Bool.true → Eq F3.z b)
      (fun h => absurd h Bool.false_ne_true) (fun _ => Eq.refl F3.z) (fun h => absurd h Bool.false_ne_true) b)
    (F3.rec (motive := fun b => Eq (F3.beq F3.p b) Bool.true → Eq F3.p b)
      (fun h => absurd h Bool.false_ne_true) (fun h => absurd h Bool.false_ne_true) (fun _ => Eq.refl F3.p) b)
    a h

theorem F3.beq_refl (a : F3) : Eq (F3.beq a a) Bool.true :=
  F3.rec (motive := fun a => Eq (F3.beq a a) Bool.true) (Eq.refl _) (Eq.refl _) (Eq.refl _) a

/-! ## The vectors `V = F3 × F3` -/

inductive V : Type where
  | mk : F3 → F3 → V

def V.cases {α : Sort u} (x : V) (k : F3 → F3 → α) : α := V.rec (motive := fun _ => α) k x
def V.zero : V := V.mk F3.z F3.z
def V.add (x y : V) : V := V.cases x (fun a b => V.cases y (fun c d => V.mk (F3.add a c) (F3.add b d)))
def V.neg (x : V) : V := V.cases x (fun a b => V.mk (F3.neg a) (F3.neg b))
def V.smul (c : F3) (x : V) : V := V.cases x (fun a b => V.mk (F3.mul c a) (F3.mul c b))
/-- `0` on the zero vector, `1` elsewhere. -/
def V.norm (x : V) : F3 :=
  V.cases x (fun a b => F3.cases a F3.p (F3.cases b F3.p F3.z F3.p) F3.p)
def V.beq (x y : V) : Bool := V.cases x (fun a b => V.cases y (fun c d => band (F3.beq a c) (F3.beq b d)))
def V.all (f : V → Bool) : Bool := F3.all (fun a => F3.all (fun b => f (V.mk a b)))

theorem V.all_sound {f : V → Bool} (h : Eq (V.all f) Bool.true) (x : V) : Eq (f x) Bool.true :=
  V.rec (motive := fun x => Eq (f x) Bool.true) (fun a b => F3.all_sound (F3.all_sound h a) b) x

theorem V.beq_sound {x y : V} (h : Eq (V.beq x y) Bool.true) : Eq x y :=
  V.rec (motive := fun x => Eq (V.beq x y) Bool.true → Eq x y)
    (fun a b => V.rec (motive := fun y => Eq (V.beq (V.mk a b) y) Bool.true → Eq (V.mk a b) y)
      (fun _ _ h => congr2 V.mk (F3.beq_sound (band_left h)) (F3.beq_sound (band_right h))) y) x h

theorem V.beq_refl (x : V) : Eq (V.beq x x) Bool.true :=
  V.rec (motive := fun x => Eq (V.beq x x) Bool.true)
    (fun a b => Eq.subst (fun t => Eq (band t (F3.beq b b)) Bool.true) (Eq.symm (F3.beq_refl a)) (F3.beq_refl b)) x

def V.decEq (x y : V) : Decidable (Eq x y) :=
  decideOfBool (V.beq x y) V.beq_sound (fun e => Eq.subst (fun t => Eq (V.beq x t) Bool.true) e (V.beq_refl x))

/-! ## Every field of `Scalar` and `Space`, by evaluation -/

/-- The Boolean checks, each reduced to `true` by the kernel. -/
theorem chk_add_assoc : Eq (F3.all fun a => F3.all fun b => F3.all fun c =>
    F3.beq (F3.add (F3.add a b) c) (F3.add a (F3.add b c))) Bool.true := Eq.refl Bool.true
theorem chk_add_comm : Eq (F3.all fun a => F3.all fun b => F3.beq (F3.add a b) (F3.add b a)) Bool.true :=
  Eq.refl Bool.true
theorem chk_add_zero : Eq (F3.all fun a => F3.beq (F3.add a F3.z) a) Bool.true := Eq.refl Bool.true
theorem chk_add_neg : Eq (F3.all fun a => F3.beq (F3.add a (F3.neg a)) F3.z) Bool.true := Eq.refl Bool.true
theorem chk_mul_assoc : Eq (F3.all fun a => F3.all fun b => F3.all fun c =>
    F3.beq (F3.mul (F3.mul a b) c) (F3.mul a (F3.mul b c))) Bool.true := Eq.refl Bool.true
theorem chk_mul_comm : Eq (F3.all fun a => F3.all fun b => F3.beq (F3.mul a b) (F3.mul b a)) Bool.true :=
  Eq.refl Bool.true
theorem chk_mul_one : Eq (F3.all fun a => F3.beq (F3.mul a F3.p) a) Bool.true := Eq.refl Bool.true
theorem chk_mul_add : Eq (F3.all fun a => F3.all fun b => F3.all fun c =>
    F3.beq (F3.mul a (F3.add b c)) (F3.add (F3.mul a b) (F3.mul a c))) Bool.true := Eq.refl Bool.true
theorem chk_mul_inv_cancel : Eq (F3.all fun a => bor (F3.beq a F3.z) (F3.beq (F3.mul a (F3.inv a)) F3.p)) Bool.true :=
  Eq.refl Bool.true
theorem chk_mul_inv : Eq (F3.all fun a => F3.all fun b =>
    F3.beq (F3.inv (F3.mul a b)) (F3.mul (F3.inv a) (F3.inv b))) Bool.true := Eq.refl Bool.true
theorem chk_le_refl : Eq (F3.all fun a => F3.leb a a) Bool.true := Eq.refl Bool.true
theorem chk_le_antisymm : Eq (F3.all fun a => F3.all fun b =>
    bimp (F3.leb a b) (bimp (F3.leb b a) (F3.beq a b))) Bool.true := Eq.refl Bool.true
theorem chk_le_total : Eq (F3.all fun a => F3.all fun b => bor (F3.leb a b) (F3.leb b a)) Bool.true :=
  Eq.refl Bool.true
theorem chk_mul_nonneg : Eq (F3.all fun a => F3.all fun b =>
    bimp (F3.leb F3.z a) (bimp (F3.leb F3.z b) (F3.leb F3.z (F3.mul a b)))) Bool.true := Eq.refl Bool.true
theorem chk_inv_nonneg : Eq (F3.all fun a => bimp (F3.leb F3.z a) (F3.leb F3.z (F3.inv a))) Bool.true :=
  Eq.refl Bool.true
theorem chk_le_div_iff : Eq (F3.all fun a => F3.all fun b => F3.all fun c =>
    bor (F3.leb c F3.z) (bbeq (F3.leb a (F3.mul b (F3.inv c))) (F3.leb (F3.mul a c) b))) Bool.true :=
  Eq.refl Bool.true
theorem chk_abs_of_nonneg : Eq (F3.all fun a => bimp (F3.leb F3.z a) (F3.beq (F3.abs a) a)) Bool.true :=
  Eq.refl Bool.true
theorem chk_abs_inv : Eq (F3.all fun a => F3.beq (F3.abs (F3.inv a)) (F3.inv (F3.abs a))) Bool.true :=
  Eq.refl Bool.true

theorem F3.zero_ne_one : Ne F3.z F3.p :=
  fun h => Bool.false_ne_true (Eq.symm (Eq.trans (Eq.symm (F3.beq_refl F3.z)) (congrArg (F3.beq F3.z) h)))

instance F3.scalar : SteeringSpec.Scalar F3 where
  zero := F3.z
  one := F3.p
  add := F3.add
  mul := F3.mul
  neg := F3.neg
  inv := F3.inv
  abs := F3.abs
  le := F3.le
  add_assoc := fun a b c => F3.beq_sound (F3.all_sound (F3.all_sound (F3.all_sound chk_add_assoc a) b) c)
  add_comm := fun a b => F3.beq_sound (F3.all_sound (F3.all_sound chk_add_comm a) b)
  add_zero := fun a => F3.beq_sound (F3.all_sound chk_add_zero a)
  add_neg := fun a => F3.beq_sound (F3.all_sound chk_add_neg a)
  mul_assoc := fun a b c => F3.beq_sound (F3.all_sound (F3.all_sound (F3.all_sound chk_mul_assoc a) b) c)
  mul_comm := fun a b => F3.beq_sound (F3.all_sound (F3.all_sound chk_mul_comm a) b)
  mul_one := fun a => F3.beq_sound (F3.all_sound chk_mul_one a)
  mul_add := fun a b c => F3.beq_sound (F3.all_sound (F3.all_sound (F3.all_sound chk_mul_add a) b) c)
  zero_ne_one := F3.zero_ne_one
  mul_inv_cancel := fun a ha =>
    Or.elim (bor_elim (F3.all_sound chk_mul_inv_cancel a))
      (fun h0 => absurd (F3.beq_sound h0) ha) (fun h1 => F3.beq_sound h1)
  mul_inv := fun a b => F3.beq_sound (F3.all_sound (F3.all_sound chk_mul_inv a) b)
  le_refl := fun a => F3.all_sound chk_le_refl a
  le_antisymm := fun a b hab hba =>
    F3.beq_sound (bimp_elim (bimp_elim (F3.all_sound (F3.all_sound chk_le_antisymm a) b) hab) hba)
  le_total := fun a b => bor_elim (F3.all_sound (F3.all_sound chk_le_total a) b)
  mul_nonneg := fun a b ha hb => bimp_elim (bimp_elim (F3.all_sound (F3.all_sound chk_mul_nonneg a) b) ha) hb
  inv_nonneg := fun a ha => bimp_elim (F3.all_sound chk_inv_nonneg a) ha
  le_div_iff := fun a b c hc =>
    Or.elim (bor_elim (F3.all_sound (F3.all_sound (F3.all_sound chk_le_div_iff a) b) c))
      (fun h => absurd h hc)
      (fun h => Iff.of_eq (congrArg (fun t => Eq t Bool.true) (bbeq_eq h)))
  abs_of_nonneg := fun a ha => F3.beq_sound (bimp_elim (F3.all_sound chk_abs_of_nonneg a) ha)
  abs_inv := fun a => F3.beq_sound (F3.all_sound chk_abs_inv a)

theorem chk_vadd_assoc : Eq (V.all fun x => V.all fun y => V.all fun w =>
    V.beq (V.add (V.add x y) w) (V.add x (V.add y w))) Bool.true := Eq.refl Bool.true
theorem chk_vadd_comm : Eq (V.all fun x => V.all fun y => V.beq (V.add x y) (V.add y x)) Bool.true :=
  Eq.refl Bool.true
theorem chk_vadd_zero : Eq (V.all fun x => V.beq (V.add x V.zero) x) Bool.true := Eq.refl Bool.true
theorem chk_vadd_neg : Eq (V.all fun x => V.beq (V.add x (V.neg x)) V.zero) Bool.true := Eq.refl Bool.true
theorem chk_one_smul : Eq (V.all fun x => V.beq (V.smul F3.p x) x) Bool.true := Eq.refl Bool.true
theorem chk_mul_smul : Eq (F3.all fun a => F3.all fun b => V.all fun x =>
    V.beq (V.smul (F3.mul a b) x) (V.smul a (V.smul b x))) Bool.true := Eq.refl Bool.true
theorem chk_smul_add : Eq (F3.all fun a => V.all fun x => V.all fun y =>
    V.beq (V.smul a (V.add x y)) (V.add (V.smul a x) (V.smul a y))) Bool.true := Eq.refl Bool.true
theorem chk_add_smul : Eq (F3.all fun a => F3.all fun b => V.all fun x =>
    V.beq (V.smul (F3.add a b) x) (V.add (V.smul a x) (V.smul b x))) Bool.true := Eq.refl Bool.true
theorem chk_zero_smul : Eq (V.all fun x => V.beq (V.smul F3.z x) V.zero) Bool.true := Eq.refl Bool.true
theorem chk_smul_zero : Eq (F3.all fun a => V.beq (V.smul a V.zero) V.zero) Bool.true := Eq.refl Bool.true
theorem chk_norm_smul : Eq (F3.all fun a => V.all fun x =>
    F3.beq (V.norm (V.smul a x)) (F3.mul (F3.abs a) (V.norm x))) Bool.true := Eq.refl Bool.true
theorem chk_norm_nonneg : Eq (V.all fun x => F3.leb F3.z (V.norm x)) Bool.true := Eq.refl Bool.true
theorem chk_norm_eq_zero : Eq (V.all fun x => bimp (F3.beq (V.norm x) F3.z) (V.beq x V.zero)) Bool.true :=
  Eq.refl Bool.true

instance V.space : SteeringSpec.Space F3 V where
  vzero := V.zero
  vadd := V.add
  vneg := V.neg
  smul := V.smul
  norm := V.norm
  decEq := V.decEq
  vadd_assoc := fun x y w => V.beq_sound (V.all_sound (V.all_sound (V.all_sound chk_vadd_assoc x) y) w)
  vadd_comm := fun x y => V.beq_sound (V.all_sound (V.all_sound chk_vadd_comm x) y)
  vadd_zero := fun x => V.beq_sound (V.all_sound chk_vadd_zero x)
  vadd_neg := fun x => V.beq_sound (V.all_sound chk_vadd_neg x)
  one_smul := fun x => V.beq_sound (V.all_sound chk_one_smul x)
  mul_smul := fun a b x => V.beq_sound (V.all_sound (F3.all_sound (F3.all_sound chk_mul_smul a) b) x)
  smul_add := fun a x y => V.beq_sound (V.all_sound (V.all_sound (F3.all_sound chk_smul_add a) x) y)
  add_smul := fun a b x => V.beq_sound (V.all_sound (F3.all_sound (F3.all_sound chk_add_smul a) b) x)
  zero_smul := fun x => V.beq_sound (V.all_sound chk_zero_smul x)
  smul_zero := fun a => V.beq_sound (F3.all_sound chk_smul_zero a)
  norm_smul := fun a x => F3.beq_sound (V.all_sound (F3.all_sound chk_norm_smul a) x)
  norm_nonneg := fun x => V.all_sound chk_norm_nonneg x
  norm_eq_zero := fun x h =>
    V.beq_sound (bimp_elim (V.all_sound chk_norm_eq_zero x)
      (Eq.subst (fun t => Eq (F3.beq t F3.z) Bool.true) (Eq.symm h) (F3.beq_refl F3.z)))

/-- The model is not degenerate: `0 ≠ 1`, a non-zero vector exists, and the steering theorems
apply to it with their premises met (here `unit_sphere` at `v = (1, 0)`). -/
theorem model_nontrivial :
    And (Ne (SteeringSpec.Scalar.zero : F3) SteeringSpec.Scalar.one)
      (And (Ne (V.mk F3.p F3.z) SteeringSpec.Space.vzero)
        (Eq (V.norm (V.smul (F3.inv (V.norm (V.mk F3.p F3.z))) (V.mk F3.p F3.z))) F3.p)) :=
  let hv : Ne (V.mk F3.p F3.z) SteeringSpec.Space.vzero := fun h =>
    Bool.false_ne_true (Eq.symm (Eq.trans (Eq.symm (V.beq_refl (V.mk F3.p F3.z)))
      (congrArg (V.beq (V.mk F3.p F3.z)) h)))
  And.intro F3.zero_ne_one (And.intro hv (SteeringSpec.unit_sphere hv))

end SteeringModel

end
