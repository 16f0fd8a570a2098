"""The devnet's population (retail accounts, exchanges, token issuers, tokens) and ground-truth labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blockanalytix_assets.devnet.anvil import DEFAULT_CHAIN_ID, GENESIS_TIMESTAMP
from blockanalytix_assets.devnet.delegations import SmartWallets
from blockanalytix_assets.devnet.plan import ETH, GAS_TOKEN, GAS_TRANSFER, BlockBuilder, Ledger

TYPOLOGIES = (
    "phishing_drain",
    "peel_chain",
    "wash_trading",
    "dusting",
    "high_value_burst",
    "mixer",
    "contract_drainer",
    "eip7702_sweeper",
)


@dataclass(frozen=True)
class ScenarioConfig:
    """What a generated chain depends on: the same config always gives the same block hashes."""

    seed: int = 7
    blocks: int = 600
    txs_per_block: int = 20
    accounts: int = 400
    exchanges: int = 3
    typology_every: int = 6  # a typology instance starts about every this many blocks
    block_time: int = 12
    genesis_timestamp: int = GENESIS_TIMESTAMP
    chain_id: int = DEFAULT_CHAIN_ID
    regime_shift_at: int | None = None  # from this block on, background activity follows the shifted regime

    def cache_key(self) -> str:
        # f2: steady base fee (plan.BASE_FEE); f3: Prague with type-4 delegations. Older cached chains are regenerated.
        key = f"f3-s{self.seed}-b{self.blocks}-k{self.txs_per_block}-a{self.accounts}"
        return key if self.regime_shift_at is None else f"{key}-r{self.regime_shift_at}"


class World:
    """Everyone on the devnet, the ledger, the RNG and the labels; block is the block being planned."""

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.ledger = Ledger()
        self.retail = [self.fresh() for _ in range(config.accounts)]
        self.exchanges = [self.fresh() for _ in range(config.exchanges)]
        self.cold_wallets = [self.fresh() for _ in range(config.exchanges)]
        self.issuers = [self.fresh() for _ in range(3)]
        self.tokens: list[str] = []
        self.token_owner: dict[str, str] = {}
        self.contracts: dict[str, str] = {}  # the typologies' contracts: address -> contract name
        self.mixer: tuple[str, str] | None = None  # the chain's one mixer and its relayer, once deployed
        self.labels: dict[tuple[str, str], int] = {}
        # Heavy-tailed genesis balances: most hold a little, a few hold thousands of ETH.
        amounts = np.clip(self.rng.lognormal(np.log(1.5), 1.8, config.accounts), 0.05, 50_000)
        self.genesis = {a: int(v * 1e6) * 10**12 for a, v in zip(self.retail, amounts, strict=True)}
        self.genesis.update({a: 1_000_000 * ETH for a in self.exchanges})
        self.genesis.update({a: 10_000_000 * ETH for a in self.cold_wallets})
        self.genesis.update({a: 100 * ETH for a in self.issuers})
        self.wallets = SmartWallets.create(config.seed)  # EIP-7702 users, on their own RNG
        self.genesis.update(self.wallets.genesis())
        self.ledger.eth.update(self.genesis)
        self.block = BlockBuilder(0, config.genesis_timestamp, self.ledger, self.rng)

    def fresh(self) -> str:
        """Return a new address nobody has used."""
        return "0x" + self.rng.bytes(20).hex()

    def new_block(self, number: int) -> BlockBuilder:
        self.block = BlockBuilder(
            number, self.config.genesis_timestamp + number * self.config.block_time, self.ledger, self.rng
        )
        return self.block

    @property
    def shifted(self) -> bool:
        """Whether the block being planned is at or after the configured regime shift."""
        shift = self.config.regime_shift_at
        return shift is not None and self.block.number >= shift

    def label(self, address: str, typology: str) -> None:
        """Record address as part of typology from the current block on (first block wins)."""
        self.labels.setdefault((address, typology), self.block.number)

    def pick(self, pool: list[str], min_eth: float = 0.0, tries: int = 6) -> str | None:
        """Return a random member of pool holding at least min_eth, or None."""
        for _ in range(tries):
            a = pool[int(self.rng.integers(len(pool)))]
            if self.block.spendable(a, GAS_TOKEN) >= min_eth * ETH:
                return a
        return None

    def amount(self, median_eth: float, sigma: float, cap: int) -> int:
        """Draw a heavy-tailed wei amount, at most cap."""
        return min(cap, int(self.rng.lognormal(np.log(median_eth), sigma) * 1e9) * 10**9)

    def withdraw(self, to: str, value: int) -> bool:
        """An exchange hot wallet pays value to `to` (how actors fund themselves)."""
        ex = self.exchanges[int(self.rng.integers(len(self.exchanges)))]
        return self.block.transfer(ex, to, value, "withdrawal")

    def sweep(self, sender: str, to: str) -> bool:
        """Send everything the sender can spend this block to `to`."""
        value = self.block.spendable(sender, GAS_TRANSFER)
        return value > 0 and self.block.transfer(sender, to, value)

    def token_with_supply(self) -> str | None:
        """Return a token whose owner still holds tokens, or None before any exists."""
        live = [t for t in self.tokens if self.ledger.token_balance(t, self.token_owner[t]) > 0]
        return live[int(self.rng.integers(len(live)))] if live else None

    def label_rows(self) -> list[tuple[str, str, int]]:
        """Labels as sorted (address, typology, first_block) rows."""
        return sorted((a, t, b) for (a, t), b in self.labels.items())
