"""Peer comparison: a runner launched in the transformers-4 environment (see run_peers.py)."""
