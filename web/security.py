"""Secret key, cookie flags, CSRF protection and the security headers every response carries."""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, g, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Two years, the value browsers' preload lists ask for; only ever sent over HTTPS.
STRICT_TRANSPORT_SECURITY = "max-age=63072000"


def init_app(app: Flask) -> None:
    """Configure the secret key, cookies and CSRF, and add the headers after each request."""
    app.secret_key = app.config.get("SECRET_KEY") or app.config["KB_SECRET_KEY"] or _stored_key(
        Path(app.config["KB_DATA_DIR"]))
    app.config.update(
        SESSION_COOKIE_NAME="kb_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["KB_SECURE_COOKIES"],
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=app.config["KB_SESSION_HOURS"]),
        # The session itself expires; a CSRF token that dies after an hour would only lose
        # a handler's half-written form.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    app.after_request(_headers)


def _stored_key(data_dir: Path) -> str:
    """A key generated once and kept in the data folder, so sessions survive restarts and are shared by workers."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".secret_key.{os.getpid()}"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)      # atomic create-if-absent: two workers starting at once agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if is_https():
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    if request.path.startswith("/static/"):
        return response
    # Pages of a logged-in handler (and internal API answers) must not be kept by any cache.
    if getattr(g, "user", None) is not None or request.args.get("audience") == "internal":
        response.headers["Cache-Control"] = "no-store"
    else:
        response.headers.setdefault("Cache-Control", "no-cache")
    response.vary.add("Cookie")
    return response


def safe_path(target: str | None, default: str) -> str:
    """`target` if it is a path on this site (never another host), else `default`: stops open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


@lru_cache(maxsize=32)
def _networks(spec: str) -> tuple:
    """The trusted-proxy list (already validated by kb/settings.py) as ip_network objects."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _in(address: str | None, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def from_trusted_proxy() -> bool:
    """True when the request comes straight from one of KB_TRUSTED_PROXIES (headers it sets may be believed)."""
    return _in(request.remote_addr, _networks(current_app.config.get("KB_TRUSTED_PROXIES") or ""))


def client_address() -> str:
    """The client's IP: the connecting address, or behind trusted proxies the last address they did not add."""
    networks = _networks(current_app.config.get("KB_TRUSTED_PROXIES") or "")
    address = request.remote_addr or "unknown"
    if not _in(address, networks):
        return address
    # X-Forwarded-For is appended to by each proxy; walk from the right past our own proxies only.
    for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        hop = hop.strip()
        if not hop:
            continue
        if not _in(hop, networks):
            return hop if _in(hop, (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))) else address
        address = hop
    return address


def is_https() -> bool:
    """True when the client talks HTTPS to us: directly, via a trusted proxy's X-Forwarded-Proto, or by setting."""
    if request.is_secure or current_app.config.get("KB_SECURE_COOKIES"):
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and from_trusted_proxy()
