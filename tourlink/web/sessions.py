"""Login security of the stewards' web view: server-side sessions, login throttling, CSRF, cookie flags.

Why server-side sessions rather than a signed cookie alone: a signed cookie stays valid until it
expires, so a cookie copied before logout (or before a password change) kept working for 8 h. Here the
cookie carries only a random token; the `web_session` table holds its SHA-256, and logout ends the row.
Each row also keeps a fingerprint of the steward's password hash as it was at login: once the password
in stewards.yaml changes, every earlier session is refused (and ended) on its next request.

Failed logins are rows of `web_login_failure` (user, address, time) so the limit holds across workers
and restarts: after `user_limit` failures for one user, or `address_limit` from one address, within
`window` seconds, further attempts are refused with 429 (the password is not even checked) until the
window has passed. Every failure and every lockout is logged, the user name masked.

The two tables belong to the web view, not to the warehouse's data model: they live in this module's
own metadata and are created by the app on start (`create_all(checkfirst=True)`), so the warehouse's
Alembic history stays the data pipeline's alone.

The login form's CSRF token is a double submit: a random nonce in a short-lived HttpOnly cookie and
the same nonce signed in the form; a cross-site page can post the form but can neither read the cookie
nor forge the signature.

Cookies are HttpOnly and SameSite=Strict; `Secure` when the request came over TLS — directly, or
through a proxy listed in `trusted_proxies` that says so in `X-Forwarded-Proto` — or always when
`cookie_secure: always`. The peer address for the throttle is taken from `X-Forwarded-For` only when
the peer is such a trusted proxy, so a client cannot pick its own address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tourlink.masking import mask_text
from tourlink.web.stewards import Steward, Stewards

log = logging.getLogger("tourlink.web.login")

COOKIE = "tourlink_steward"
LOGIN_COOKIE = "tourlink_login"
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 3600

metadata = sa.MetaData()

web_session = sa.Table(
    "web_session",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie's token, never the token
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("password_fingerprint", sa.String(64), nullable=False),
    sa.Column("address", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("end_reason", sa.String(32)),  # logout / password_changed / unknown_user
    sa.Index("ix_web_session_username", "username"),
)

web_login_failure = sa.Table(
    "web_login_failure",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Index("ix_web_login_failure_username_at", "username", "at"),
    sa.Index("ix_web_login_failure_address_at", "address", "at"),
)


@dataclass(frozen=True)
class LoginPolicy:
    """How the web view guards logins; from the `login:` section of stewards.yaml (all optional)."""

    user_limit: int = 5  # failures of one user within `window` before that user is locked
    address_limit: int = 20  # failures from one address within `window` before that address is locked
    window: int = 900  # seconds
    cookie_secure: str = "auto"  # auto (when served over TLS) / always / never
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)  # addresses or networks

    @classmethod
    def from_spec(cls, spec: dict | None) -> LoginPolicy:
        spec = spec or {}
        secure = str(spec.get("cookie_secure", "auto")).lower()
        if secure in ("true", "yes"):
            secure = "always"
        if secure in ("false", "no"):
            secure = "never"
        if secure not in ("auto", "always", "never"):
            raise ValueError(f"login.cookie_secure: {secure!r} is not auto, always or never")
        proxies = tuple(str(p) for p in spec.get("trusted_proxies") or ())
        for p in proxies:
            ipaddress.ip_network(p, strict=False)  # a typo fails at start, not silently at run time
        return cls(
            user_limit=int(spec.get("user_limit", cls.user_limit)),
            address_limit=int(spec.get("address_limit", cls.address_limit)),
            window=int(spec.get("window_seconds", cls.window)),
            cookie_secure=secure,
            trusted_proxies=proxies,
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fingerprint(steward: Steward) -> str:
    return _digest("tourlink-password:" + steward.password_hash)


class LoginGuard:
    """Sessions, the login throttle and the cookie flags of one web view over one database."""

    def __init__(self, engine: sa.Engine, stewards: Stewards, policy: LoginPolicy):
        self.engine = engine
        self.stewards = stewards
        self.policy = policy
        self.form_signer = URLSafeTimedSerializer(stewards.secret, salt="tourlink-login-form")
        metadata.create_all(engine, checkfirst=True)

    # --- where the request came from -------------------------------------------------------------
    def trusted(self, peer: str) -> bool:
        """Whether `peer` (the TCP peer's address) is one of the trusted proxies."""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(p, strict=False) for p in self.policy.trusted_proxies)

    def client_address(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and self.trusted(peer):
            return forwarded.split(",")[-1].strip() or peer  # the address our proxy saw
        return peer

    def over_tls(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        peer = request.client.host if request.client else ""
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https" and self.trusted(peer)

    def set_cookie(self, request: Request, response: Response, name: str, value: str, max_age: int) -> None:
        secure = self.policy.cookie_secure == "always" or (self.policy.cookie_secure == "auto" and self.over_tls(request))
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/")

    # --- CSRF of the login form ------------------------------------------------------------------
    def new_login_form(self) -> tuple[str, str]:
        """A fresh nonce (for the cookie, `set_login_cookie`) and the same nonce signed (for the form)."""
        nonce = secrets.token_urlsafe(16)
        return nonce, self.form_signer.dumps(nonce)

    def set_login_cookie(self, request: Request, response: Response, nonce: str) -> None:
        self.set_cookie(request, response, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS)

    def login_form_valid(self, request: Request, token: str | None) -> bool:
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not token or not nonce:
            return False
        try:
            signed = self.form_signer.loads(token, max_age=LOGIN_FORM_SECONDS)
        except BadSignature:
            return False
        return isinstance(signed, str) and secrets.compare_digest(signed, nonce)

    # --- the throttle ----------------------------------------------------------------------------
    def locked(self, username: str, address: str) -> bool:
        """Whether this user or this address has used up its failures in the window (then logged)."""
        since = _now() - timedelta(seconds=self.policy.window)
        f = web_login_failure.c
        with self.engine.connect() as conn:
            by_user = conn.execute(sa.select(sa.func.count()).where(f.username == username, f.at >= since)).scalar_one()
            by_address = conn.execute(sa.select(sa.func.count()).where(f.address == address, f.at >= since)).scalar_one()
        if by_user >= self.policy.user_limit or by_address >= self.policy.address_limit:
            log.warning(
                "login refused (locked): user %s from %s, %d failures for the user and %d from the address in %d s",
                _masked_user(username), address, by_user, by_address, self.policy.window,
            )
            return True
        return False

    def record_failure(self, username: str, address: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(web_login_failure.insert().values(at=_now(), username=username, address=address))
        log.warning("login failed: user %s from %s", _masked_user(username), address)

    # --- sessions --------------------------------------------------------------------------------
    def start_session(self, steward: Steward, address: str) -> str:
        """A new session; the user's earlier failures are forgotten (the address's are not)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                web_session.insert().values(
                    token_hash=_digest(token), username=steward.username, csrf=secrets.token_urlsafe(16),
                    password_fingerprint=_fingerprint(steward), address=address, created_at=now,
                    expires_at=now + timedelta(seconds=SESSION_SECONDS),
                )
            )
            conn.execute(web_login_failure.delete().where(web_login_failure.c.username == steward.username))
        log.info("login: user %s from %s", _masked_user(steward.username), address)
        return token

    def session(self, token: str | None) -> tuple[Steward, str] | None:
        """The steward and CSRF token of a live session; None for an unknown, ended or expired one."""
        if not token:
            return None
        s = web_session.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(s.username, s.csrf, s.password_fingerprint).where(
                    s.token_hash == _digest(token), s.ended_at.is_(None), s.expires_at > _now()
                )
            ).first()
        if row is None:
            return None
        steward = self.stewards.by_username.get(row.username)
        if steward is None or not secrets.compare_digest(row.password_fingerprint, _fingerprint(steward)):
            self._end(token, "unknown_user" if steward is None else "password_changed")
            return None
        return steward, row.csrf

    def end_session(self, token: str | None) -> None:
        if token:
            self._end(token, "logout")

    def _end(self, token: str, reason: str) -> None:
        s = web_session.c
        with self.engine.begin() as conn:
            conn.execute(
                web_session.update().where(s.token_hash == _digest(token), s.ended_at.is_(None)).values(ended_at=_now(), end_reason=reason)
            )


def end_sessions_of(engine: sa.Engine, username: str, reason: str = "password_changed") -> int:
    """End every live session of a user (after a password change made outside the web view)."""
    metadata.create_all(engine, checkfirst=True)
    s = web_session.c
    with engine.begin() as conn:
        return conn.execute(
            web_session.update().where(s.username == username, s.ended_at.is_(None)).values(ended_at=_now(), end_reason=reason)
        ).rowcount


def _masked_user(username: str) -> str:
    """A user name as logged: ID numbers and mobiles typed into the field masked, length bounded."""
    return repr(mask_text(username[:64]))
