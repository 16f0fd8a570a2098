"""Pydantic response models of the read-only analytics API (they define its OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every non-2xx answer: a readable message, never a stack trace."""

    error: str


class Health(BaseModel):
    """Liveness and how many ranges the API can see."""

    status: Literal["ok"]
    ranges: int = Field(ge=0)
    scored_ranges: int = Field(ge=0)


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
    """Every range any table holds, in block order."""

    ranges: list[RangeSummary]


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


class AddressDetail(BaseModel):
    """What the pipeline knows about an address."""

    address: str
    risk: RiskScore | None
    labels: list[AddressLabel]
    anomalous_transactions: list[Anomaly]
