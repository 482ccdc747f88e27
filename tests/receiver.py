"""A third party's notification endpoint for tests: a real HTTP server recording BatchLists."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response

from opencustodian.protocols.espi.batch_list import parse_batch_list
from tests.live import serving

if TYPE_CHECKING:
    from collections.abc import Iterator


class Receiver:
    """A third party's notification endpoint: a real HTTP server recording BatchLists."""

    def __init__(self) -> None:
        self.resources: list[str] = []
        self.url = ""
        self.arrived = threading.Event()
        self.app = FastAPI()
        self.app.add_api_route("/notify", self.receive, methods=["POST"])

    async def receive(self, request: Request) -> Response:
        self.resources.extend(parse_batch_list(await request.body()))
        self.arrived.set()
        return Response(status_code=200)

    def wait_for(self, uri: str, times: int = 1, timeout: float = 5) -> None:
        """Wait until BatchLists have named ``uri`` ``times`` times in all."""
        deadline = time.monotonic() + timeout
        while self.resources.count(uri) < times:
            self.arrived.clear()
            if self.resources.count(uri) >= times:
                break
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no BatchList named {uri} {times}x; got {self.resources}"
            self.arrived.wait(remaining)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver served on a loopback port; its ``url`` is the notification URI."""
    receiver = Receiver()
    with serving(receiver.app) as base_url:
        receiver.url = f"{base_url}/notify"
        yield receiver
