from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache

import pytest
import sqlalchemy as sa
import uvicorn

from tests.report import quarantine_sample
from tests.web.chromium import Chromium
from tourlink.web.app import create_app
from tourlink.web.stewards import hash_password, parse_stewards

PASSWORDS = {"shenyang": "沈阳-pass-1", "dalian": "dalian-pass-2", "liaoning": "ln-pass-3"}


@cache
def _hash(password: str) -> str:
    return hash_password(password)


@dataclass
class WebView:
    url: str
    engine: sa.Engine
    ids: dict[str, int]


@pytest.fixture
def web_view(tmp_path):
    """The stewards' web view on a real uvicorn server (loopback, a port the OS picks)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    ids = quarantine_sample.seed(engine)
    stewards = parse_stewards(
        {
            "secret": "test-secret",
            "stewards": {
                "shenyang": {"name": "沈阳市管理员", "region": "210100", "password": _hash(PASSWORDS["shenyang"])},
                "dalian": {"name": "大连市管理员", "region": "2102", "password": _hash(PASSWORDS["dalian"])},
                "liaoning": {"name": "辽宁省管理员", "region": "21", "password": _hash(PASSWORDS["liaoning"])},
            },
        }
    )
    config = uvicorn.Config(create_app(engine=engine, stewards=stewards), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and server.servers):
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield WebView(f"http://127.0.0.1:{port}", engine, ids)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture
def browser(tmp_path):
    b = Chromium(tmp_path / "chromium-profile")
    yield b
    b.close()
