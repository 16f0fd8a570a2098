# pragma version 0.4.3
"""Fixed-denomination mixer for the BlockAnalytix devnet: deposits of exactly DENOMINATION, payouts by the relayer."""

event Deposit:
    depositor: indexed(address)
    value: uint256

event Withdrawal:
    recipient: indexed(address)
    value: uint256

DENOMINATION: public(immutable(uint256))
RELAYER: public(immutable(address))


@deploy
def __init__(_denomination: uint256):
    DENOMINATION = _denomination
    RELAYER = msg.sender


@external
@payable
def deposit():
    assert msg.value == DENOMINATION, "wrong denomination"
    log Deposit(depositor=msg.sender, value=msg.value)


@external
def withdraw(_recipients: DynArray[address, 8]):
    # the relayer pays each recipient one denomination: internal calls, no transaction of the recipient's own
    assert msg.sender == RELAYER, "not relayer"
    for r: address in _recipients:
        send(r, DENOMINATION)
        log Withdrawal(recipient=r, value=DENOMINATION)
