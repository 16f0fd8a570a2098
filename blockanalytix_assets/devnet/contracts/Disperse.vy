# pragma version 0.4.3
"""Batch payer for the BlockAnalytix devnet (like disperse.app): one payable call pays several addresses."""


@external
@payable
def disperseEther(_recipients: DynArray[address, 8], _values: DynArray[uint256, 8]):
    assert len(_recipients) == len(_values), "length mismatch"
    for i: uint256 in range(len(_recipients), bound=8):
        send(_recipients[i], _values[i])
