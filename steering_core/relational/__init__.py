"""Relational geometry (tooling layer): WordNet word pairs and how their activations relate.

* :mod:`~steering_core.relational.wordnet`: a reader of the WordNet 3.0 database files from
  Debian's ``wordnet-base`` (``make wordnet``); hypernym, antonym and meronym pairs.
* :mod:`~steering_core.relational.pairs`: seeded sampling, single-token words first.
* :mod:`~steering_core.relational.geometry`: offset consistency, the shuffled-pair permutation
  test, inter-relation cosines and a held-out relation-type probe.
* :mod:`~steering_core.relational.experiment`: the per-layer experiment on a model (one batched
  pass over every word, every layer read at once).
"""

from __future__ import annotations
