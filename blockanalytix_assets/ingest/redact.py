"""Keeps RPC secrets (API keys in URLs) out of messages and logs: redact_url, scrub and a log filter."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

RPC_LOGGER = "blockanalytix_assets.ingest.rpc"  # the client's logger (its name from before the split)
_SECRETS: set[str] = set()
_KEYLIKE = re.compile(r"[A-Za-z0-9_\-]{16,}")


def _secret_segment(seg: str) -> bool:
    return bool(_KEYLIKE.fullmatch(seg)) and (any(c.isdigit() for c in seg) or len(seg) >= 24)


def redact_url(url: str) -> str:
    """The one rule for showing a URL (RPC node, MLflow server) in logs, errors, metadata and links.

    user:password@ becomes ***@, a query string ?***, a path segment that looks like an API key (16+ of
    [A-Za-z0-9_-] with a digit, or 24+) ***, and the fragment is dropped. A URL without a host (a file path,
    sqlite:///...) holds no credentials and is shown as it is; one that does not parse is shown as ***.
    """
    try:
        p = urlsplit(url)
        host = (p.hostname or "") + (f":{p.port}" if p.port else "")
    except ValueError:
        return "***"
    if not p.netloc and not p.query:
        return url
    if p.username or p.password:
        host = "***@" + host
    path = "/".join("***" if _secret_segment(s) else s for s in p.path.split("/"))
    return urlunsplit((p.scheme, host, path, "***" if p.query else "", ""))


def register_secrets(url: str) -> None:
    """Remember the secret parts of a URL so that scrub() and the log filter hide them."""
    try:
        p = urlsplit(url)
    except ValueError:
        return
    parts = [p.username, p.password, p.query, p.netloc.rpartition("@")[0]] + p.query.split("&")
    parts += [q.partition("=")[2] for q in p.query.split("&")] + [s for s in p.path.split("/") if _secret_segment(s)]
    _SECRETS.update(x for x in parts if x and len(x) >= 4)


def scrub(text: str) -> str:
    """Text with every registered secret replaced by ***."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class _RedactFilter(logging.Filter):
    """Rewrites log records (ours, urllib3's) that would print a registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            msg = record.getMessage()
            clean = scrub(msg)
            if clean != msg:
                record.msg, record.args = clean, None
        return True


for _name in (RPC_LOGGER, "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests"):
    logging.getLogger(_name).addFilter(_RedactFilter())
