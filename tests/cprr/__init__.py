"""Tests of the conjecture registry (steering_core.cprr)."""
