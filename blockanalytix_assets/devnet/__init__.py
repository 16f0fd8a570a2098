"""devnet stage: the embedded default chain (anvil launcher and the deterministic scenario generator)."""
