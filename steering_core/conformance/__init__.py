"""The conformance kit: one suite that checks any steering backend against the spec.

Data flow: ``steering_core/data/conformance.toml`` states each property once (:mod:`.spec`); a backend is
anything that implements the small :class:`~steering_core.conformance.backend.Backend` protocol
(greedy token ids for a batch of requests, each with an optional steering plan); the oracle
(:mod:`.oracle`) is a deliberately simple reference loop on a pristine copy of the model; the
checks (:mod:`.checks`) compare backend and oracle; :mod:`.run` runs them and renders the table
and JSON that ``steer conform`` prints and ``steer report`` shows.
"""
