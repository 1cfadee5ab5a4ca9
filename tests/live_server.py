"""The Goldbean app on a real socket, in a thread of the test process, for tests that need
real HTTP (the POS client, the POS page) but not gunicorn."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server

from api.app import create_app
from ledger.clock import FakeClock
from ledger.persistence import open_ledger
from tests.scenario import START, Community


class LiveServer:
    """An in-memory ledger on a fake clock behind werkzeug; ``community`` shares both."""

    def __init__(self, secret: str = "live-server-secret-key") -> None:
        self.clock = FakeClock(START)
        self.ledger = open_ledger("memory://", clock=self.clock, create_tables=True)
        config = {"database_url": "memory://", "secret_key": secret, "demo": True}
        self.app = create_app(config, ledger=self.ledger)
        self.community = Community(self.ledger, self.clock)
        self.http = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def terminal(self, merchant_id: str) -> str:
        """A new terminal token for this merchant."""
        return self.app.extensions["goldbean.auth"].create_terminal(merchant_id, "till 1")[1]

    def close(self) -> None:
        self.http.shutdown()
        self.thread.join(timeout=5)
        self.app.extensions["goldbean.store"].close()
        self.ledger.close()
