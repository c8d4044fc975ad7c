"""steering-spec core: extract, steer and diagnose activation-steering vectors."""
