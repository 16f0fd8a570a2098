"""Ordinary EIP-7702 activity: smart-wallet users delegate their accounts in type-4 txs, self-paid or sponsored.

It draws from its own RNG and touches only its own accounts, so the rest of a seed's chain is planned as before.
Delegation targets hold no code (calls to a delegated wallet then run no code), so transfers to and from the
wallets cost what they cost before; the zero address as target revokes a delegation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from eth_account import Account

from blockanalytix_assets.devnet.dapps import authorization
from blockanalytix_assets.devnet.plan import ETH, dynamic_fees

if TYPE_CHECKING:
    from blockanalytix_assets.devnet.world import World

WALLETS, RELAYERS, TARGETS = 12, 2, 3
ZERO = "0x" + "00" * 20
# per block: a self-paid delegation, a relayer's batch of 1-3 sponsored ones, a payment between wallets, nothing
EVENTS = ("self", "sponsored", "payment", "none")
EVENT_WEIGHTS = (0.12, 0.08, 0.15, 0.65)


@dataclass
class SmartWallets:
    """The keyed wallets that sign authorizations, the relayers that sponsor them and the delegation targets."""

    rng: np.random.Generator
    keys: dict[str, bytes]
    relayers: list[str]
    targets: list[str]
    delegated: dict[str, str] = field(default_factory=dict)  # wallet -> its current target

    @classmethod
    def create(cls, seed: int) -> SmartWallets:
        rng = np.random.default_rng([seed, 7702])
        keys = {}
        for _ in range(WALLETS):
            key = rng.bytes(32)
            keys[Account.from_key(key).address.lower()] = key
        fresh = ["0x" + rng.bytes(20).hex() for _ in range(RELAYERS + TARGETS)]
        return cls(rng, keys, fresh[:RELAYERS], fresh[RELAYERS:])

    def genesis(self) -> dict[str, int]:
        """Starting balances: a few ETH per wallet, more for the relayers."""
        amounts = np.clip(self.rng.lognormal(np.log(3), 1.0, len(self.keys)), 0.2, 100)
        out = {a: int(v * 1e6) * 10**12 for a, v in zip(self.keys, amounts, strict=True)}
        return out | dict.fromkeys(self.relayers, 100 * ETH)

    def authorization(self, wallet: str, chain_id: int, nonce: int) -> dict:
        """A signed authorization of wallet (RPC form) to a target, or to the zero address (revoke)."""
        if wallet in self.delegated and self.rng.random() < 0.2:
            target = ZERO
        else:
            target = self.targets[int(self.rng.integers(len(self.targets)))]
        if self.rng.random() < 0.2:
            chain_id = 0  # valid on every chain
        auth = authorization(chain_id, target, nonce, self.keys[wallet])
        if target == ZERO:
            self.delegated.pop(wallet, None)
        else:
            self.delegated[wallet] = target
        return auth


def plan_delegations(w: World) -> None:
    """Plan at most one delegation event (or wallet payment) into the current block."""
    sw, block, nonces = w.wallets, w.block, w.ledger.nonces
    rng = sw.rng
    event = EVENTS[int(rng.choice(len(EVENTS), p=EVENT_WEIGHTS))]
    wallets = list(sw.keys)
    picked = [wallets[int(i)] for i in rng.permutation(len(wallets))[: int(rng.integers(1, 4))]]
    chain_id = w.config.chain_id
    if event == "self":  # the tx bumps the sender's nonce before its own authorization is checked
        wallet = picked[0]
        block.use_fees(wallet, dynamic_fees(rng, 4))
        auth = sw.authorization(wallet, chain_id, nonces.get(wallet, 0) + 1)
        if block.delegate(wallet, wallet, [auth]):
            nonces[wallet] += 1
    elif event == "sponsored":
        relayer = sw.relayers[int(rng.integers(len(sw.relayers)))]
        block.use_fees(relayer, dynamic_fees(rng, 4))
        auths = [sw.authorization(a, chain_id, nonces.get(a, 0)) for a in picked]
        if block.delegate(relayer, picked[0], auths):
            for a in picked:
                nonces[a] = nonces.get(a, 0) + 1
    elif event == "payment" and len(picked) > 1:
        sender, to = picked[0], picked[1]
        block.use_fees(sender, dynamic_fees(rng, 2))
        value = min(int(rng.uniform(0.01, 0.5) * ETH), block.spendable(sender) // 2)
        block.transfer(sender, to, value, "wallet_payment")
