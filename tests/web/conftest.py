from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from tests.report import quarantine_sample
from tests.web.chromium import Chromium
from tourlink.web.app import create_app
from tourlink.web.stewards import hash_password, parse_stewards
from warehouse import tables as warehouse_tables

PASSWORDS = {"shenyang": "沈阳-pass-1", "dalian": "dalian-pass-2", "liaoning": "ln-pass-3"}


@cache
def _hash(password: str) -> str:
    return hash_password(password)


@dataclass
class WebView:
    url: str
    engine: sa.Engine
    ids: dict[str, int]


def stewards_spec(passwords: dict[str, str] = PASSWORDS, login: dict | None = None) -> dict:
    """The three test stewards (their passwords may be changed) and an optional `login:` policy."""
    regions = {"shenyang": ("沈阳市管理员", "210100"), "dalian": ("大连市管理员", "2102"), "liaoning": ("辽宁省管理员", "21")}
    return {
        "secret": "test-secret",
        "login": login or {},
        "stewards": {u: {"name": n, "region": r, "password": _hash(passwords[u])} for u, (n, r) in regions.items()},
    }


@contextmanager
def serve(engine: sa.Engine, spec: dict) -> Iterator[str]:
    """A web view over `engine` on a real uvicorn server (loopback, a port the OS picks); yields its URL.

    proxy_headers off, as `tourlink web` runs it: X-Forwarded-* are the app's to trust or not.
    """
    warehouse_tables.metadata.create_all(engine)  # the view serves a warehouse: its tables, the audit log's included
    app = create_app(engine=engine, stewards=parse_stewards(spec))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and server.servers):
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def web_view(tmp_path):
    """The stewards' web view on a real uvicorn server over a sample warehouse."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    ids = quarantine_sample.seed(engine)
    with serve(engine, stewards_spec()) as url:
        yield WebView(url, engine, ids)
    engine.dispose()


@pytest.fixture
def browser(tmp_path):
    b = Chromium(tmp_path / "chromium-profile")
    yield b
    b.close()


def login_csrf(client: httpx.Client) -> str:
    """Open the login form as a browser would (its cookie lands in `client`) and return its CSRF token."""
    page = client.get("/login")
    return page.text.split('name="csrf" value="')[1].split('"')[0]
