"""Benign contract activity, unlabelled: exchanges' batch payouts (internal calls) and EIP-7702 smart-wallet upgrades.

They give the contract typologies look-alikes among ordinary users: fresh addresses paid only by internal calls,
and delegated accounts whose code is not a sweeper.
"""

from __future__ import annotations

from collections.abc import Iterator

from blockanalytix_assets.devnet import dapps
from blockanalytix_assets.devnet.plan import ETH
from blockanalytix_assets.devnet.world import World

UTILITIES = ("Disperse", "SmartWallet")
UTILITIES_BLOCK = 2  # deployed here by the first token issuer; used from the next block on
BENIGN_EVERY = 5  # a benign batch payout or wallet upgrade starts about every this many blocks
GAS_SET_CODE = 80_000


def deploy_utilities(w: World) -> None:
    """The first issuer deploys the shared Disperse and SmartWallet contracts."""
    for name in UTILITIES:
        address = w.block.create(w.issuers[0], dapps.deploy_data(name))
        if address is not None:
            w.contracts[address] = name


def _utility(w: World, name: str) -> str | None:
    return next((a for a, n in w.contracts.items() if n == name), None)


def batch_payout(w: World) -> Iterator[None]:
    """An exchange pays several withdrawals in one Disperse call: retail users and new users alike."""
    disperse = _utility(w, "Disperse")
    if disperse is None:
        return
    exchange = w.exchanges[int(w.rng.integers(len(w.exchanges)))]
    recipients = []
    for _ in range(int(w.rng.integers(3, dapps.MAX_BATCH + 1))):
        fresh = w.rng.random() < 0.4
        recipients.append(w.fresh() if fresh else w.retail[int(w.rng.integers(len(w.retail)))])
    recipients = list(dict.fromkeys(recipients))
    values = [w.amount(0.5, 1.5, 200 * ETH) for _ in recipients]
    data = dapps.call_data("Disperse", "disperseEther", recipients, values)
    if w.block.call(exchange, disperse, sum(values), data, 40_000 + 40_000 * len(recipients), "batch_payout"):
        for r, v in zip(recipients, values, strict=True):
            w.ledger.pay(disperse, r, v, arriving=True)
            if r not in w.retail:
                w.retail.append(r)  # new users join and transact later
    yield


def wallet_upgrade(w: World) -> Iterator[None]:
    """A new user, paid by an exchange, upgrades its account to a smart wallet (a self-sponsored EIP-7702 tx)."""
    wallet = _utility(w, "SmartWallet")
    if wallet is None:
        return
    key = w.rng.bytes(32)
    user = dapps.keyed_account(key)
    if not w.withdraw(user, w.amount(1.5, 1.0, 100 * ETH)):
        return
    yield
    # the sender is the authority: its authorization nonce is the one after the transaction's
    auth = dapps.authorization(w.config.chain_id, wallet, w.ledger.nonces.get(user, 0) + 1, key)
    if not w.block.set_code(user, user, [auth], GAS_SET_CODE, "wallet_upgrade"):
        return
    w.ledger.delegate(user)
    yield
    w.retail.append(user)  # from the next block: the pool sees the authorization's nonce only once it is mined


def benign(w: World) -> Iterator[None]:
    """One benign contract interaction: a batch payout (two in three) or a wallet upgrade."""
    yield from batch_payout(w) if w.rng.random() < 0.67 else wallet_upgrade(w)
