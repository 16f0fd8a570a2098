"""Planned transactions, the balance/nonce ledger and one block under construction (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from blockanalytix_assets.devnet.erc20 import create_address, transfer_data

ETH = 10**18
GWEI = 10**9
# Every devnet block's base fee: steady and below every planned price. Left alone, anvil decays it from 1 gwei to
# 8 wei within ~160 blocks (the blocks are far below the gas target), so price-to-base-fee ratios reached 10^8 and
# the first range looked nothing like the rest.
BASE_FEE = GWEI
GAS_TRANSFER = 21_000
GAS_ACCESS_ADDRESS = 2_400  # EIP-2930 intrinsic gas per access-list address
GAS_TOKEN = 90_000
GAS_DEPLOY = 1_000_000
GAS_TO_DELEGATED = 60_000  # a payment to an EIP-7702-delegated account runs its code: 21,000 would run out
TYPE_WEIGHTS = (0.2, 0.1, 0.7)  # legacy, EIP-2930, EIP-1559
DYNAMIC_FEE_TYPES = (2, 4)  # EIP-1559 and EIP-7702 (set code) transactions price gas with max fee and tip
GAS_AUTHORIZATION = 25_000  # EIP-7702 intrinsic gas per authorization tuple (PER_EMPTY_ACCOUNT_COST)


@dataclass(frozen=True, slots=True)
class Fees:
    """The fee fields of one sender in one block (equal for all its txs: anvil drops outbidding nonces)."""

    tx_type: int
    gas_price: int = 0
    max_fee: int = 0
    tip: int = 0

    @property
    def cap(self) -> int:
        """Highest price per gas this tx can pay."""
        return self.max_fee if self.tx_type in DYNAMIC_FEE_TYPES else self.gas_price

    def rpc(self) -> dict:
        if self.tx_type in DYNAMIC_FEE_TYPES:
            return {"type": hex(self.tx_type), "maxFeePerGas": hex(self.max_fee), "maxPriorityFeePerGas": hex(self.tip)}
        return {"type": hex(self.tx_type), "gasPrice": hex(self.gas_price)}

    def scaled(self, factor: int) -> Fees:
        """The same fees with every price multiplied by factor."""
        return Fees(self.tx_type, self.gas_price * factor, self.max_fee * factor, self.tip * factor)


def draw_fees(rng: np.random.Generator) -> Fees:
    """Draw a tx type and heavy-tailed fees the way wallets spread them."""
    tx_type = int(rng.choice(3, p=TYPE_WEIGHTS))
    if tx_type == 2:
        return dynamic_fees(rng)
    return Fees(tx_type, gas_price=int((2 + rng.lognormal(np.log(6), 0.7)) * GWEI))


def dynamic_fees(rng: np.random.Generator, tx_type: int = 2) -> Fees:
    """Draw a tip and max fee (type 2 or 4) the way wallets spread them."""
    tip = int(rng.lognormal(np.log(1.5), 0.6) * GWEI)
    return Fees(tx_type, max_fee=tip + int(rng.uniform(15, 40) * GWEI), tip=tip)


@dataclass(slots=True)
class Tx:
    """One planned transaction; `kind` says what it is for the manifest and tests."""

    sender: str
    to: str | None
    value: int
    data: str
    gas: int
    kind: str
    nonce: int
    fees: Fees
    reverts: bool = False
    authorizations: list[dict] | None = None  # EIP-7702 signed tuples (RPC form) of a type-4 tx

    def rpc(self) -> dict:
        """Return the eth_sendTransaction object (explicit nonce, gas and fees: no node-side estimates)."""
        d: dict[str, Any] = {"from": self.sender, "nonce": hex(self.nonce), "gas": hex(self.gas)}
        d["value"] = hex(self.value)
        if self.to is not None:
            d["to"] = self.to
        if self.data != "0x":
            d["data"] = self.data
        d.update(self.fees.rpc())
        if self.fees.tx_type == 1:
            d["accessList"] = [{"address": self.to or self.sender, "storageKeys": []}]
        if self.authorizations is not None:
            d["authorizationList"] = self.authorizations
        return d


@dataclass
class Ledger:
    """Balances, token balances and nonces as the planner knows them; credits land at block end."""

    eth: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    holders: dict[str, list[str]] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)
    delegated: set[str] = field(default_factory=set)  # EIP-7702 accounts: payments to them need GAS_TO_DELEGATED
    _eth_in: dict[str, int] = field(default_factory=dict)
    _tok_in: list[tuple[str, str, int]] = field(default_factory=list)
    _new_tokens: list[tuple[str, str, int]] = field(default_factory=list)

    def balance(self, addr: str) -> int:
        return self.eth.get(addr, 0)

    def token_balance(self, token: str, addr: str) -> int:
        return self.tokens.get(token, {}).get(addr, 0)

    def delegate(self, authority: str) -> None:
        """An EIP-7702 authorization of authority was applied: its nonce moves on, payments to it run code."""
        self.nonces[authority] = self.nonces.get(authority, 0) + 1
        self.delegated.add(authority)

    def forward(self, src: str, dst: str) -> None:
        """src's whole balance (landed and arriving this block) moves to dst within the block (contract code)."""
        moved = self.eth.get(src, 0) + self._eth_in.pop(src, 0)
        self.eth[src] = 0
        if moved:
            self._eth_in[dst] = self._eth_in.get(dst, 0) + moved

    def pay(self, src: str, dst: str, value: int, arriving: bool = False) -> None:
        """A contract at src pays dst by an internal call (lands at block end); arriving: out of src's credit now."""
        if arriving:
            self._eth_in[src] -= value
        else:
            self.eth[src] -= value
        self._eth_in[dst] = self._eth_in.get(dst, 0) + value

    def move_tokens(self, token: str, src: str, dst: str) -> int:
        """All of src's token balance moves to dst (a transferFrom by a contract); return the amount."""
        amount = self.tokens[token].get(src, 0)
        if amount:
            self.tokens[token][src] = 0
            self._tok_in.append((token, dst, amount))
        return amount

    def end_block(self) -> None:
        """Apply this block's incoming ETH, tokens and new token contracts (spendable from the next block)."""
        for addr, v in self._eth_in.items():
            self.eth[addr] = self.eth.get(addr, 0) + v
        for token, owner, supply in self._new_tokens:
            self.tokens[token] = {}
            self.holders[token] = []
            self._tok_in.append((token, owner, supply))
        for token, addr, v in self._tok_in:
            bal = self.tokens[token]
            if addr not in bal:
                self.holders[token].append(addr)
            bal[addr] = bal.get(addr, 0) + v
        self._eth_in, self._tok_in, self._new_tokens = {}, [], []


class BlockBuilder:
    """The transactions of one block; add() checks affordability and books them in the ledger."""

    def __init__(self, number: int, timestamp: int, ledger: Ledger, rng: np.random.Generator) -> None:
        self.number = number
        self.timestamp = timestamp
        self.ledger = ledger
        self.rng = rng
        self.txs: list[Tx] = []
        self._fees: dict[str, Fees] = {}
        self.fee_scale = 1  # multiplies the prices of senders whose fees are drawn from now on (regime shift)

    def fees(self, sender: str) -> Fees:
        """Return the sender's fees in this block, drawing them on first use."""
        f = self._fees.get(sender)
        if f is None:
            f = draw_fees(self.rng)
            f = self._fees[sender] = f if self.fee_scale == 1 else f.scaled(self.fee_scale)
        return f

    def use_fees(self, sender: str, fees: Fees) -> Fees:
        """Give sender these fees in this block unless it already has some; return its fees."""
        return self._fees.setdefault(sender, fees)

    def gas_for(self, sender: str, base_gas: int) -> int:
        return base_gas + (GAS_ACCESS_ADDRESS if self.fees(sender).tx_type == 1 else 0)

    def max_cost(self, sender: str, base_gas: int) -> int:
        """Highest fee a tx of base_gas by sender can cost in this block."""
        return self.gas_for(sender, base_gas) * self.fees(sender).cap

    def spendable(self, sender: str, base_gas: int = GAS_TRANSFER) -> int:
        """ETH value sender can still send in one tx of base_gas this block (never negative)."""
        return max(0, self.ledger.balance(sender) - self.max_cost(sender, base_gas))

    def _book(
        self, sender: str, to: str | None, value: int, data: str, base_gas: int, kind: str, reverts: bool = False
    ) -> Tx | None:
        gas = self.gas_for(sender, base_gas)
        cost = gas * self.fees(sender).cap
        if value < 0 or self.ledger.balance(sender) < value + cost:
            return None
        lg = self.ledger
        nonce = lg.nonces.get(sender, 0)
        lg.nonces[sender] = nonce + 1
        lg.eth[sender] -= cost if reverts else value + cost
        if not reverts and value and to is not None:
            lg._eth_in[to] = lg._eth_in.get(to, 0) + value
        tx = Tx(sender, to, value, data, gas, kind, nonce, self.fees(sender), reverts)
        self.txs.append(tx)
        return tx

    def call(self, sender: str, to: str, value: int, data: str, base_gas: int, kind: str) -> bool:
        """Book a contract call expected to succeed (value is credited to `to`)."""
        return self._book(sender, to, value, data, base_gas, kind) is not None

    def set_code(self, sender: str, to: str, authorizations: list[dict], base_gas: int, kind: str) -> bool:
        """Book a type-4 (EIP-7702) tx with base_gas (its call may run code); gives sender type-4 fees if it can."""
        fees = self.fees(sender)
        if fees.tx_type != 4:
            if any(tx.sender == sender for tx in self.txs):
                return False
            self._fees[sender] = Fees(4, max_fee=fees.cap, tip=min(GWEI, fees.cap - BASE_FEE))
        tx = self._book(sender, to, 0, "0x", base_gas, kind)
        if tx is not None:
            tx.authorizations = authorizations
        return tx is not None

    def create(self, sender: str, data: str, base_gas: int = GAS_DEPLOY, kind: str = "deploy") -> str | None:
        """Book a contract creation; return its address (usable from the next block)."""
        nonce = self.ledger.nonces.get(sender, 0)
        if self._book(sender, None, 0, data, base_gas, kind) is None:
            return None
        return create_address(sender, nonce)

    def transfer(self, sender: str, to: str, value: int, kind: str = "transfer") -> bool:
        """Book a plain ETH transfer (with the gas a delegated recipient's code needs)."""
        gas = GAS_TO_DELEGATED if to in self.ledger.delegated else GAS_TRANSFER
        return self._book(sender, to, value, "0x", gas, kind) is not None

    def token_transfer(self, sender: str, token: str, to: str, amount: int, kind: str = "token") -> bool:
        """Book an ERC-20 transfer; an amount above the sender's token balance is booked as reverting."""
        held = self.ledger.token_balance(token, sender)
        reverts = amount > held
        tx = self._book(sender, token, 0, transfer_data(to, amount), GAS_TOKEN, kind, reverts)
        if tx is None:
            return False
        if not reverts:
            self.ledger.tokens[token][sender] = held - amount
            self.ledger._tok_in.append((token, to, amount))
        return True

    def call_reverting(self, sender: str, contract: str, value: int) -> bool:
        """Book ETH sent to a contract without a payable fallback (mined with status 0)."""
        return self._book(sender, contract, value, "0x", GAS_TRANSFER + 20_000, "revert", True) is not None

    def delegate(self, sender: str, to: str, authorizations: list[dict]) -> bool:
        """Book a type-4 tx carrying signed authorizations (sender's fees must be of type 4: use_fees)."""
        if self.fees(sender).tx_type != 4 or not authorizations:
            raise ValueError("a delegation needs type-4 fees and at least one authorization")
        gas = GAS_TRANSFER + GAS_AUTHORIZATION * len(authorizations)
        tx = self._book(sender, to, 0, "0x", gas, "delegation")
        if tx is not None:
            tx.authorizations = authorizations
        return tx is not None

    def deploy(self, sender: str, data: str, supply: int) -> str | None:
        """Book a token contract creation; return its address (usable from the next block)."""
        address = self.create(sender, data)
        if address is None:
            return None
        self.ledger._new_tokens.append((address, sender, supply))
        return address
