"""Behavioural evaluation on real models: style contracts, prompt-vs-injection parity, lens bleed."""
