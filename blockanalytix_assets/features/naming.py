"""Column naming shared with the Kaggle Ethereum fraud dataset (Farrugia, Ellul & Azzopardi 2020)."""

import re

_NON_WORD = re.compile(r"[^0-9a-z]+")


def kaggle_column_name(name: str) -> str:
    """`total Ether sent` -> `total_ether_sent`: lower-cased, each run of other characters turned into `_`."""
    return _NON_WORD.sub("_", name.strip().lower()).strip("_")
