"""`python -m blockanalytix_assets.devnet`: the devnet command without the blockanalytix CLI."""

from blockanalytix_assets.devnet.cli import devnet_command

devnet_command(prog_name="devnet")
