"""The formal layer of the steering spec: registry, SMT checks, Lean scan and the matrix.

Modules (import them explicitly; this package imports nothing heavy on its own):

* :mod:`~steering_core.formal.bounds`: re-exports :mod:`steering_core.bounds`, the IEEE-754
  formats and rounding-error bounds the implementation satisfies (single source for ops, the
  runtime contracts, tests and the SMT checks; it lives in the library layer, which the
  formal layer sits on).
* :mod:`~steering_core.formal.registry`: loads and validates ``steering_core/data/properties.toml``.
* :mod:`~steering_core.formal.smt_real`: z3 proofs of every property over the reals.
* :mod:`~steering_core.formal.smt_float32`: z3 checks over IEEE-754 (FP theory, RNE) and the
  derived bounds.
* :mod:`~steering_core.formal.lean_scan`: refuses ``sorry``/``admit``/``axiom`` in ``lean4/``.
* :mod:`~steering_core.formal.lean_kernel`: runs the Lean 4 kernel (from the pinned wheel) on the
  prelude formalisation ``lean4/Kernel``, the registry laws and the float bounds of :mod:`.bounds`.
* :mod:`~steering_core.formal.matrix`: the property x evidence matrix (``steer spec``).
"""
