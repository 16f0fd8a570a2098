"""Pydantic response models of the read-only analytics API (they define its OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every non-2xx answer: a readable message, never a stack trace."""

    error: str


class Health(BaseModel):
    """Liveness and how many ranges the API can see (from its in-memory catalog, never from storage)."""

    status: Literal["ok"]
    ranges: int = Field(ge=0)
    scored_ranges: int = Field(ge=0)


class Ready(BaseModel):
    """Readiness: the storage root answered a listing."""

    status: Literal["ready"]


class RangeSummary(BaseModel):
    """One block range and how far the pipeline got with it."""

    key: str = Field(description="Partition key FIRST-LAST, 9-digit zero-padded block numbers.")
    first_block: int
    last_block: int
    ingested: bool
    scored: bool
    transactions: int | None = Field(description="Cleaned transactions, None before cleaning.")
    anomalies: int | None = Field(description="Transactions at or above the threshold, None before scoring.")
    threshold: float | None
    max_score: float | None
    classifier_version: str | None
    autoencoder_version: str | None


class RangeList(BaseModel):
    """A page of the ranges any table holds, in block order."""

    ranges: list[RangeSummary]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; None on the last page (the last key shown)."
    )


class Anomaly(BaseModel):
    """A scored transaction (an anomaly_scores row)."""

    hash: str
    block_number: int
    block_timestamp: int | None
    from_address: str | None
    to_address: str | None
    value_eth: float | None
    fee_eth: float | None
    classifier_probability: float | None
    reconstruction_error: float | None
    anomaly_score: float
    rank: int
    cluster_id: int | None
    classifier_version: str | None
    autoencoder_version: str | None
    reasons: list[str] = Field(description="The features that contributed most, strongest first.")
    is_labelled: bool | None
    label: str | None
    above_threshold: bool


class AnomalyList(BaseModel):
    """A range's scored transactions, most anomalous first."""

    key: str
    threshold: float | None
    total: int = Field(ge=0, description="Rows matching min_score before the limit.")
    anomalies: list[Anomaly]
    next_cursor: str | None = Field(default=None, description="Opaque; pass as `cursor` for the next page.")


class Transaction(BaseModel):
    """A transaction from cleaned_transactions with its anomaly score when scored."""

    hash: str
    partition_key: str
    block_number: int
    block_timestamp: int | None = None
    transaction_index: int | None = None
    from_address: str | None = None
    to_address: str | None = None
    value_wei: str | None = Field(default=None, description="Exact value in wei, as a decimal string.")
    value_eth: float | None = None
    fee_eth: float | None = None
    gas: int | None = None
    gas_price: int | None = None
    receipt_gas_used: int | None = None
    receipt_status: int | None = None
    method_selector: str | None = None
    failed: bool | None = None
    is_contract_creation: bool | None = None
    is_contract_call: bool | None = None
    token_transfer_count: int | None = None
    gas_price_to_base_fee: float | None = None
    score: Anomaly | None = None


class AddressLabel(BaseModel):
    """A list entry naming the address illicit or suspicious."""

    label: str | None
    category: str | None
    source: str | None
    first_seen: int | None


class RiskScore(BaseModel):
    """The address risk model's latest score for an address."""

    risk_score: float
    rank: int | None
    model_version: str | None
    label: str | None = None
    partition_key: str


class AddressProfile(BaseModel):
    """Lifetime state of an address over every range folded into address_profiles (and newer loose ranges)."""

    address: str
    first_block: int | None = None
    last_block: int | None = None
    first_timestamp: int | None = None
    last_timestamp: int | None = None
    active_ranges: int = Field(ge=0, description="Ranges where the address sent, received or transferred tokens.")
    sent_count: int = Field(ge=0)
    received_count: int = Field(ge=0)
    created_count: int = Field(ge=0, description="Contracts this address created.")
    transaction_count: int | None = Field(default=None, description="Transactions with the address as from/to.")
    ether_sent_wei: str | None = Field(default=None, description="Exact wei of successful sends, decimal string.")
    ether_received_wei: str | None = None
    ether_sent_to_contracts_wei: str | None = None
    ether_sent: float | None = Field(default=None, description="ETH (wei / 1e18).")
    ether_received: float | None = None
    ether_sent_to_contracts: float | None = None
    min_value_sent: float | None = None
    max_value_sent: float | None = None
    mean_value_sent: float | None = None
    min_value_received: float | None = None
    max_value_received: float | None = None
    mean_value_received: float | None = None
    distinct_counterparties: int | None = Field(
        default=None, description="Distinct addresses sent to or received from (KMV estimate above 256)."
    )
    distinct_counterparties_exact: bool | None = Field(default=None, description="False when an estimate.")
    distinct_sent_to: int | None = None
    distinct_received_from: int | None = None
    token_transfers_sent: int | None = None
    token_transfers_received: int | None = None
    erc20_value_sent: float | None = Field(default=None, description="Sum of ERC-20 values in 18-decimal units.")
    erc20_value_received: float | None = None
    distinct_tokens: int | None = None
    is_contract: bool | None = None
    internal_ether_sent_wei: str | None = Field(
        default=None,
        description="Exact wei sent in internal transfers (internal_transfers), decimal string; None where a range "
        "of the address had no traces (unknown), as for every internal_* field.",
    )
    internal_ether_received_wei: str | None = None
    internal_ether_sent: float | None = None
    internal_ether_received: float | None = None
    internal_sent_count: int | None = Field(default=None, ge=0)
    internal_received_count: int | None = Field(default=None, ge=0)
    internal_counterparties: int | None = Field(
        default=None, description="Distinct internal-transfer counterparties (KMV estimate above 256)."
    )


class AddressDetail(BaseModel):
    """What the pipeline knows about an address."""

    address: str
    risk: RiskScore | None = Field(description="The score from the newest range where the address is active.")
    labels: list[AddressLabel]
    anomalous_transactions: list[Anomaly] = Field(
        description="Above-threshold transactions in the address's 32 newest active ranges, newest first (<= 20)."
    )
    profile: AddressProfile | None = Field(
        default=None, description="Lifetime state merged from the address_profiles run tree; None without one."
    )
    transactions: list[Transaction] = Field(
        default_factory=list, description="A page of the address's transactions (from/to), newest first."
    )
    next_cursor: str | None = Field(default=None, description="Opaque; pass as `cursor` for the next page.")
