"""Rate limits per client (Flask-Limiter) on resident search, live search, feedback and the public API, and
the login throttle (failed logins per user name and per client address, then a lock-out).

Counters live in memory (one process) or, with KB_REDIS_URL, in Redis shared by every server. Logged-in
handlers (session, token or single sign-on) are never limited, so residents' traffic cannot lock them out.
A Redis that stops answering never stops the service: counting falls back to this process's memory.
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, g
from flask_limiter import Limiter
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from web.security import client_address

log = logging.getLogger(__name__)
_EXTENSION = "kb_limits"
# Endpoint -> setting with its limits. Each endpoint has its own bucket per client.
LIMITED_ENDPOINTS = {
    "public.search": "KB_LIMIT_SEARCH",
    "public.search_live": "KB_LIMIT_LIVE_SEARCH",
    "events.feedback": "KB_LIMIT_FEEDBACK",
}
# Blueprint -> setting: one bucket per client shared by every route of the blueprint.
LIMITED_BLUEPRINTS = {"api": "KB_LIMIT_API"}


def storage_uri(app: Flask) -> str:
    """Where the counters live: KB_REDIS_URL, else this process's memory."""
    return app.config.get("KB_REDIS_URL") or "memory://"


def logged_in() -> bool:
    """True for handlers (and editors, admins, API tokens): they are never rate-limited."""
    return g.get("user") is not None


def init_app(app: Flask) -> None:
    """Attach the limiter and the login throttle; call after every blueprint is registered."""
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "kb")
    limiter = Limiter(
        key_func=client_address,
        storage_uri=storage_uri(app),
        headers_enabled=True,           # X-RateLimit-* and Retry-After
        swallow_errors=True,            # a broken counter store must never turn into a 500
        in_memory_fallback_enabled=True,
        enabled=bool(app.config["KB_RATE_LIMITS"]),
    )
    limiter.init_app(app)
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
        if view is not None:
            # Flask-Limiter checks a decorated limit in the wrapper, so the wrapper replaces the view.
            app.view_functions[endpoint] = limiter.limit(_setting(setting), exempt_when=logged_in)(view)
    for name, setting in LIMITED_BLUEPRINTS.items():
        if name in app.blueprints:
            limiter.shared_limit(_setting(setting), scope=name, exempt_when=logged_in)(app.blueprints[name])
    app.extensions[_EXTENSION] = {"limiter": limiter, "throttle": LoginThrottle(app)}


def _setting(name: str):
    return lambda: current_app.config[name]


def get_limiter() -> Limiter:
    """The app's Flask-Limiter instance."""
    return current_app.extensions[_EXTENSION]["limiter"]


def get_throttle() -> "LoginThrottle":
    """The app's login throttle."""
    return current_app.extensions[_EXTENSION]["throttle"]


class LoginThrottle:
    """Counts failed logins per user name and per client address; too many within the window lock for a while.

    Unknown names are counted and locked exactly like real ones, so the lock-out tells nothing about which
    names exist.
    """

    def __init__(self, app: Flask):
        config = app.config
        self.prefix = f"{config['RATELIMIT_KEY_PREFIX']}/login"
        window = config["KB_LOGIN_WINDOW_MINUTES"]
        self.failures = {"name": parse(f"{config['KB_LOGIN_MAX_FAILURES']} per {window} minutes"),
                         "address": parse(f"{config['KB_LOGIN_ADDRESS_MAX_FAILURES']} per {window} minutes")}
        self.lock = parse(f"1 per {config['KB_LOGIN_LOCKOUT_MINUTES']} minutes")
        self.counter = FixedWindowRateLimiter(storage_from_string(storage_uri(app)))
        self.fallback = FixedWindowRateLimiter(storage_from_string("memory://"))

    def _keys(self, name: str) -> list[tuple[str, str]]:
        return [("name", name.strip().casefold()[:200]), ("address", client_address())]

    def _run(self, action):
        """Run against the shared store; if it fails, against this process's memory (logged, never fatal)."""
        try:
            return action(self.counter)
        except Exception as exc:   # any storage error: Redis down, timeout, refused
            log.warning("login throttle store unavailable (%s); counting in memory", type(exc).__name__)
            return action(self.fallback)

    def locked_for(self, name: str) -> int:
        """Seconds until `name` (or this client address) may try again; 0 when not locked."""
        def check(counter: FixedWindowRateLimiter) -> int:
            waits = [counter.get_window_stats(self.lock, self.prefix, "lock", kind, key).reset_time - time.time()
                     for kind, key in self._keys(name) if not counter.test(self.lock, self.prefix, "lock", kind, key)]
            return max((math.ceil(w) for w in waits), default=0)

        return max(self._run(check), 0)

    def failed(self, name: str) -> int:
        """Count a failed login; returns the lock-out in seconds when this failure locked the name or address."""
        def count(counter: FixedWindowRateLimiter) -> int:
            for kind, key in self._keys(name):
                item = self.failures[kind]
                counter.hit(item, self.prefix, "fail", kind, key)
                if counter.get_window_stats(item, self.prefix, "fail", kind, key).remaining <= 0:
                    counter.hit(self.lock, self.prefix, "lock", kind, key)
                    counter.clear(item, self.prefix, "fail", kind, key)
            return 0

        self._run(count)
        return self.locked_for(name)

    def succeeded(self, name: str) -> None:
        """A right password: forget the name's failures (the address keeps its count)."""
        key = self._keys(name)[0][1]
        self._run(lambda counter: counter.clear(self.failures["name"], self.prefix, "fail", "name", key))
