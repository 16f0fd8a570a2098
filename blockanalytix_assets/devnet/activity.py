"""Background activity of one block: payments, exchange deposits/withdrawals, token transfers, reverts."""

from __future__ import annotations

import numpy as np

from blockanalytix_assets.devnet.erc20 import deploy_data
from blockanalytix_assets.devnet.plan import ETH, GAS_TOKEN
from blockanalytix_assets.devnet.world import World

KINDS = ("payment", "deposit", "withdrawal", "token", "revert", "sweep")
WEIGHTS = np.array([0.33, 0.15, 0.16, 0.32, 0.03, 0.01])
# After ScenarioConfig.regime_shift_at: values x20, gas prices x5, more contract calls (token transfers, reverts).
SHIFTED_WEIGHTS = np.array([0.15, 0.08, 0.12, 0.52, 0.12, 0.01])
SHIFT_VALUE_SCALE = 20
SHIFT_FEE_SCALE = 5
TOKEN_SUPPLY = 10**9 * 10**18
DEPLOY_EVERY = 40
HOT_TARGET = 1_000_000 * ETH


def _value_scale(w: World) -> int:
    """How much larger background ETH amounts are in the current regime."""
    return SHIFT_VALUE_SCALE if w.shifted else 1


def deploy_tokens(w: World) -> None:
    """Each issuer launches its token (the chain's first contract creations)."""
    for i, issuer in enumerate(w.issuers):
        _deploy(w, issuer, f"Devnet Token {i}", f"DVT{i}")


def _deploy(w: World, sender: str, name: str, symbol: str) -> None:
    supply = TOKEN_SUPPLY // int(w.rng.integers(1, 100))
    address = w.block.deploy(sender, deploy_data(name, symbol, 18, supply), supply)
    if address is not None:
        w.tokens.append(address)
        w.token_owner[address] = sender


def _payment(w: World) -> bool:
    sender = w.pick(w.retail, min_eth=0.01)
    if sender is None:
        return False
    if w.rng.random() < 0.1:
        to = w.fresh()
        w.retail.append(to)  # new users join and transact later
    else:
        to = w.retail[int(w.rng.integers(len(w.retail)))]
    value = w.amount(0.2 * _value_scale(w), 1.6, int(w.block.spendable(sender) * 0.9))
    return to != sender and w.block.transfer(sender, to, value)


def _deposit(w: World) -> bool:
    sender = w.pick(w.retail, min_eth=0.02)
    if sender is None:
        return False
    ex = w.exchanges[int(w.rng.integers(len(w.exchanges)))]
    return w.block.transfer(sender, ex, int(w.block.spendable(sender) * w.rng.uniform(0.2, 0.9)), "deposit")


def _withdrawal(w: World) -> bool:
    to = w.retail[int(w.rng.integers(len(w.retail)))]
    scale = _value_scale(w)
    return w.withdraw(to, w.amount(0.5 * scale, 1.5, 2_000 * ETH * scale))


def _token(w: World) -> bool:
    token = w.token_with_supply()
    if token is None:
        return False
    holders = w.ledger.holders[token]
    owner = w.token_owner[token]
    # Owners distribute supply early on (fan-out); later holders trade among themselves.
    sender = owner if w.rng.random() < 0.25 or len(holders) < 2 else w.pick(holders, min_eth=0.002)
    if sender is None:
        return False
    held = w.ledger.token_balance(token, sender)
    if not held:
        return False
    to = w.retail[int(w.rng.integers(len(w.retail)))]
    amount = max(1, int(held * min(1.0, w.rng.lognormal(np.log(0.05), 1.2))))
    return to != sender and w.block.token_transfer(sender, token, to, amount)


def _revert(w: World) -> bool:
    sender = w.pick(w.retail, min_eth=0.01)
    # only tokens mined in an earlier block: a call in the deployment's own block may be mined first, reach no code,
    # succeed as a plain payment and leave the ledger ETH short (seen at --txs-per-block 100)
    live = [t for t in w.tokens if t in w.ledger.tokens]
    if sender is None or not live:
        return False
    token = live[int(w.rng.integers(len(live)))]
    if w.rng.random() < 0.7:  # a transfer above the sender's token balance
        amount = w.ledger.token_balance(token, sender) + int(w.rng.integers(1, 10**6)) * 10**18
        to = w.retail[int(w.rng.integers(len(w.retail)))]
        return w.block.token_transfer(sender, token, to, amount, "revert")
    return w.block.call_reverting(sender, token, min(10**16, w.block.spendable(sender, GAS_TOKEN)))


def _sweep(w: World) -> bool:
    """Hot wallet above its target sweeps the excess to cold storage; below it, cold refills it."""
    i = int(w.rng.integers(len(w.exchanges)))
    hot, cold = w.exchanges[i], w.cold_wallets[i]
    balance = w.ledger.balance(hot)
    if balance > HOT_TARGET * 11 // 10:
        return w.block.transfer(hot, cold, balance - HOT_TARGET, "sweep")
    if balance < HOT_TARGET * 8 // 10:
        return w.block.transfer(cold, hot, HOT_TARGET - balance, "sweep")
    return False


HANDLERS = {
    "payment": _payment,
    "deposit": _deposit,
    "withdrawal": _withdrawal,
    "token": _token,
    "revert": _revert,
    "sweep": _sweep,
}


def background(w: World, n: int) -> None:
    """Plan about n ordinary transactions into the current block (fewer if senders lack funds)."""
    weights = WEIGHTS
    if w.shifted:  # typologies planned before this keep their fees; background senders pay the shifted prices
        weights, w.block.fee_scale = SHIFTED_WEIGHTS, SHIFT_FEE_SCALE
    if w.block.number % DEPLOY_EVERY == DEPLOY_EVERY // 2:
        creator = w.pick(w.retail, min_eth=0.2)
        if creator is not None:
            _deploy(w, creator, f"Meme {w.block.number}", "MEME")
            n -= 1
    kinds = w.rng.choice(len(KINDS), size=max(0, n), p=weights / weights.sum())
    for k in kinds:
        HANDLERS[KINDS[int(k)]](w)
