"""devnet stage."""
