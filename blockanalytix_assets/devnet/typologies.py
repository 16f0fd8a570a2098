"""Injected, labelled illicit typologies: each is a generator that plans one block per step."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from blockanalytix_assets.devnet.contract_typologies import CONTRACT_TYPOLOGY_FUNCS
from blockanalytix_assets.devnet.plan import ETH, GAS_TOKEN, GAS_TRANSFER, GWEI
from blockanalytix_assets.devnet.world import World

Typology = Callable[[World], Iterator[None]]


def _wait(w: World, lo: int, hi: int) -> Iterator[None]:
    for _ in range(int(w.rng.integers(lo, hi + 1))):
        yield


def phishing_drain(w: World) -> Iterator[None]:
    """Many victims send most of their ETH (and tokens) to one drainer, which forwards it all at once."""
    name = "phishing_drain"
    drainer, cashout = w.fresh(), w.fresh()
    for _ in range(int(w.rng.integers(3, 7))):
        for _ in range(int(w.rng.integers(2, 6))):
            victim = w.pick(w.retail, min_eth=0.05)
            if victim is None:
                continue
            token = w.token_with_supply()
            held = w.ledger.token_balance(token, victim) if token else 0
            if token is not None and held and w.rng.random() < 0.4:
                if w.block.token_transfer(victim, token, drainer, held, "phishing"):
                    w.label(drainer, name)
            value = int(w.block.spendable(victim, GAS_TOKEN) * w.rng.uniform(0.3, 0.95))
            if w.block.transfer(victim, drainer, value, "phishing"):
                w.label(drainer, name)
        yield
    yield from _wait(w, 0, 1)
    if w.sweep(drainer, cashout):  # the fast forward
        w.label(cashout, name)
    yield from _wait(w, 1, 2)
    w.sweep(cashout, w.exchanges[int(w.rng.integers(len(w.exchanges)))])
    yield


def peel_chain(w: World) -> Iterator[None]:
    """A large sum hops through fresh addresses, each peeling a small share off to an exchange or a user."""
    name = "peel_chain"
    current = w.fresh()
    if not w.withdraw(current, w.amount(300, 0.8, 5_000 * ETH)):
        return
    w.label(current, name)
    yield
    for _ in range(int(w.rng.integers(5, 13))):
        peel_to = w.exchanges[0] if w.rng.random() < 0.5 else w.retail[int(w.rng.integers(len(w.retail)))]
        balance = w.ledger.balance(current)
        w.block.transfer(current, peel_to, int(balance * w.rng.uniform(0.02, 0.1)), "peel")
        nxt = w.fresh()
        if not w.sweep(current, nxt):
            return
        w.label(nxt, name)
        current = nxt
        yield
        yield from _wait(w, 0, 1)


def wash_trading(w: World) -> Iterator[None]:
    """A ring of fresh addresses passes the same token amount (and ETH) round and round."""
    name = "wash_trading"
    token = w.token_with_supply()
    if token is None:
        return
    ring = [w.fresh() for _ in range(int(w.rng.integers(3, 6)))]
    owner = w.token_owner[token]
    amount = max(1, w.ledger.token_balance(token, owner) // 1000)
    eth_amount = w.amount(2, 0.5, 20 * ETH)
    for member in ring:
        w.withdraw(member, eth_amount + ETH // 2)
        w.block.token_transfer(owner, token, member, amount, "wash_funding")
    yield
    for _ in range(int(w.rng.integers(4, 11))):
        for i, member in enumerate(ring):
            nxt = ring[(i + 1) % len(ring)]
            held = w.ledger.token_balance(token, member) >= amount
            if held and w.block.token_transfer(member, token, nxt, amount, "wash"):
                w.label(member, name)
            if w.rng.random() < 0.5:
                w.block.transfer(member, nxt, eth_amount, "wash")
        yield
        yield from _wait(w, 0, 1)


def dusting(w: World) -> Iterator[None]:
    """One address sends tiny amounts to many addresses to tag and track them."""
    name = "dusting"
    duster = w.fresh()
    if not w.withdraw(duster, w.amount(1, 0.3, 5 * ETH)):
        return
    yield
    for _ in range(2):
        for _ in range(int(w.rng.integers(8, 21))):
            target = w.retail[int(w.rng.integers(len(w.retail)))] if w.rng.random() < 0.8 else w.fresh()
            if w.block.transfer(duster, target, int(w.rng.integers(1, 10_000)) * GWEI, "dust"):
                w.label(duster, name)
        yield


def high_value_burst(w: World) -> Iterator[None]:
    """A quiet account suddenly receives a fortune and fans it out in large sums to fresh addresses."""
    name = "high_value_burst"
    sender = w.retail[int(w.rng.integers(len(w.retail)))]
    if not w.withdraw(sender, w.amount(8_000, 0.5, 50_000 * ETH)):
        return
    yield from _wait(w, 1, 3)
    recipients = [w.fresh() for _ in range(int(w.rng.integers(5, 16)))]
    for chunk in (recipients[: len(recipients) // 2], recipients[len(recipients) // 2 :]):
        for r in chunk:
            value = min(w.amount(400, 0.7, 3_000 * ETH), w.block.spendable(sender, GAS_TRANSFER) // 2)
            if w.block.transfer(sender, r, value, "burst"):
                w.label(sender, name)
                w.label(r, name)
        yield
    yield


TYPOLOGY_FUNCS: dict[str, Typology] = {
    "phishing_drain": phishing_drain,
    "peel_chain": peel_chain,
    "wash_trading": wash_trading,
    "dusting": dusting,
    "high_value_burst": high_value_burst,
    **CONTRACT_TYPOLOGY_FUNCS,
}
