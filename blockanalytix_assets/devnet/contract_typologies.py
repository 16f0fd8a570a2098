"""Typologies whose value moves inside contracts: a mixer, a contract drainer and an EIP-7702 sweeper.

Labelled (`World.label`): mixer: the mixer contract, the launderers' depositing addresses and the fresh addresses
the relayer pays them out to (retail cover deposits, paid out to retail addresses, are not labelled);
contract_drainer: the attacker and its drainer contract (victims keep control of their accounts: not labelled);
eip7702_sweeper: the attacker and every victim from its delegation on (the victim's account then runs the
attacker's code: whatever it receives is forwarded in the same transaction).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from blockanalytix_assets.devnet import dapps
from blockanalytix_assets.devnet.plan import ETH, GAS_TO_DELEGATED, GAS_TRANSFER
from blockanalytix_assets.devnet.world import World

MIXER_DENOMINATION = ETH
GAS_DEPOSIT = 60_000
GAS_CLAIM = 60_000
GAS_SET_CODE = 80_000  # 21,000 + 25,000 per authorization + the sweep of the victim's balance


def _wait(w: World, lo: int, hi: int) -> Iterator[None]:
    for _ in range(int(w.rng.integers(lo, hi + 1))):
        yield


def _exchange(w: World) -> str:
    return w.exchanges[int(w.rng.integers(len(w.exchanges)))]


def _create(w: World, sender: str, name: str, *args: object) -> str | None:
    """Book the deployment of contract `name` (contracts/<name>.json); record it in World.contracts."""
    address = w.block.create(sender, dapps.deploy_data(name, *args))
    if address is not None:
        w.contracts[address] = name
    return address


def _deployed_mixer(w: World) -> Iterator[None]:
    """Deploy the chain's one mixer (its relayer is its deployer) unless it exists; label it."""
    if w.mixer is not None:
        return
    relayer = w.fresh()
    if not w.withdraw(relayer, 5 * ETH):
        return
    yield
    pool = _create(w, relayer, "Mixer", MIXER_DENOMINATION)
    if pool is not None:
        w.mixer = (pool, relayer)
        w.label(pool, "mixer")
        yield


def mixer(w: World) -> Iterator[None]:
    """Launderers deposit fixed denominations beside retail cover; the relayer pays fresh addresses, which cash out."""
    name = "mixer"
    yield from _deployed_mixer(w)
    if w.mixer is None:
        return
    pool, relayer = w.mixer
    launderers = {w.fresh(): int(w.rng.integers(1, 4)) for _ in range(int(w.rng.integers(2, 4)))}
    for who, n in launderers.items():
        w.withdraw(who, n * MIXER_DENOMINATION + ETH // 10)
    yield
    payouts: list[tuple[str, bool]] = []  # (payee, laundering)
    for step in range(max(launderers.values())):
        for who, n in launderers.items():
            if step < n and w.block.call(who, pool, MIXER_DENOMINATION, dapps.DEPOSIT_DATA, GAS_DEPOSIT, "mixer"):
                w.label(who, name)
                payouts.append((w.fresh(), True))
        user = w.pick(w.retail, min_eth=1.1) if w.rng.random() < 0.6 else None
        if user and w.block.call(user, pool, MIXER_DENOMINATION, dapps.DEPOSIT_DATA, GAS_DEPOSIT, "mixer"):
            payouts.append((w.retail[int(w.rng.integers(len(w.retail)))], False))
        yield
    yield from _wait(w, 2, 4)
    order = [payouts[int(i)] for i in w.rng.permutation(len(payouts))]
    fresh: list[str] = []
    for i in range(0, len(order), dapps.MAX_BATCH):
        batch = order[i : i + dapps.MAX_BATCH]
        payees = [p for p, _ in batch]
        data = dapps.call_data("Mixer", "withdraw", payees)
        if w.ledger.balance(pool) < len(batch) * MIXER_DENOMINATION:
            break
        if w.block.call(relayer, pool, 0, data, 40_000 + 45_000 * len(batch), "mixer"):
            for payee, laundering in batch:
                w.ledger.pay(pool, payee, MIXER_DENOMINATION)
                if laundering:
                    w.label(payee, name)
                    fresh.append(payee)
        yield
    yield from _wait(w, 1, 2)
    for payee in fresh:  # each fresh address cashes out at an exchange
        w.sweep(payee, _exchange(w))
    yield


def _attacker_with(
    w: World, name: str, contract: str, attacker_arg: bool = False
) -> Generator[None, None, tuple[str, str] | None]:
    """A funded fresh attacker (labelled) and its deployed contract; None where funding or deployment fails."""
    attacker = w.fresh()
    if not w.withdraw(attacker, 2 * ETH):
        return None
    yield
    deployed = _create(w, attacker, contract, *((attacker,) if attacker_arg else ()))
    if deployed is None:
        return None
    w.label(attacker, name)
    return attacker, deployed


def contract_drainer(w: World) -> Iterator[None]:
    """Victims pay a fake claim or approve the drainer for a token; the contract moves it all to the attacker."""
    name = "contract_drainer"
    deployed = yield from _attacker_with(w, name, "Drainer")
    if deployed is None:
        return
    attacker, drainer = deployed
    w.label(drainer, name)
    yield
    for _ in range(int(w.rng.integers(2, 4))):
        approved: dict[str, list[str]] = {}
        for _ in range(int(w.rng.integers(2, 6))):
            victim = w.pick(w.retail, min_eth=0.02)
            if victim is None:
                continue
            held = [t for t in w.tokens if w.ledger.token_balance(t, victim) > 0]
            if held and w.rng.random() < 0.5:
                token = held[int(w.rng.integers(len(held)))]
                if w.block.call(victim, token, 0, dapps.approve_data(drainer), GAS_DEPOSIT, "drainer_approve"):
                    approved.setdefault(token, []).append(victim)
                continue
            value = int(w.block.spendable(victim, GAS_CLAIM) * w.rng.uniform(0.3, 0.9))
            if value and w.block.call(victim, drainer, value, dapps.CLAIM_DATA, GAS_CLAIM, "drainer_claim"):
                w.ledger.forward(drainer, attacker)
        yield
        for token, victims in approved.items():  # the sweep pulls each victim's whole balance (Drainer.sweep)
            batch = sorted(set(victims))[: dapps.MAX_BATCH]
            data = dapps.call_data("Drainer", "sweep", token, batch)
            if w.block.call(attacker, drainer, 0, data, 40_000 + 80_000 * len(batch), "drainer_sweep"):
                for victim in batch:
                    w.ledger.move_tokens(token, victim, attacker)
        yield
    yield from _wait(w, 0, 2)
    w.sweep(attacker, _exchange(w))
    yield


def eip7702_sweeper(w: World) -> Iterator[None]:
    """Victims' signed EIP-7702 delegations point their accounts at a sweeper; later payments go to the attacker."""
    name = "eip7702_sweeper"
    deployed = yield from _attacker_with(w, name, "Sweeper", attacker_arg=True)
    if deployed is None:
        return
    attacker, sweeper = deployed
    keys = [w.rng.bytes(32) for _ in range(int(w.rng.integers(2, 5)))]
    victims = [dapps.keyed_account(k) for k in keys]
    for victim in victims:  # ordinary users with signing keys, paid by an exchange
        w.withdraw(victim, w.amount(1.5, 0.8, 40 * ETH))
    yield
    for victim in victims:
        payee = w.retail[int(w.rng.integers(len(w.retail)))]
        w.block.transfer(victim, payee, int(w.block.spendable(victim) * w.rng.uniform(0.05, 0.3)), "payment")
    yield from _wait(w, 1, 3)
    delegated = []
    for key, victim in zip(keys, victims, strict=True):  # the attacker relays each signed delegation
        auth = dapps.authorization(w.config.chain_id, sweeper, w.ledger.nonces.get(victim, 0), key)
        if w.block.set_code(attacker, victim, [auth], GAS_SET_CODE, "delegation"):
            w.ledger.forward(victim, attacker)  # the call to the victim runs the sweeper at once
            w.ledger.delegate(victim)
            w.label(victim, name)
            delegated.append(victim)
    yield
    for _ in range(int(w.rng.integers(2, 4))):
        for victim in delegated:
            if w.rng.random() < 0.3:
                continue
            payer = _exchange(w) if w.rng.random() < 0.5 else w.pick(w.retail, min_eth=0.1)
            value = w.amount(0.5, 1.0, int(w.block.spendable(payer, GAS_TO_DELEGATED) * 0.5)) if payer else 0
            if payer and value > 0 and w.block.transfer(payer, victim, value, "swept"):
                w.ledger.forward(victim, attacker)
        yield
        yield from _wait(w, 0, 2)
    if w.block.spendable(attacker, GAS_TRANSFER) > 0:
        w.sweep(attacker, _exchange(w))
    yield


CONTRACT_TYPOLOGY_FUNCS = {"mixer": mixer, "contract_drainer": contract_drainer, "eip7702_sweeper": eip7702_sweeper}
