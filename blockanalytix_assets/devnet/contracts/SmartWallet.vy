# pragma version 0.4.3
"""A benign EIP-7702 wallet for the BlockAnalytix devnet: accepts ETH; the account itself may batch calls."""


@external
@payable
def __default__():
    pass


@external
def execute(_to: address, _value: uint256, _data: Bytes[1024]):
    # only the delegating account itself (msg.sender == self) can make its code call out
    assert msg.sender == self, "not the account"
    raw_call(_to, _data, value=_value)
