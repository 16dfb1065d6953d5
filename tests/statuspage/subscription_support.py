"""Helpers for the subscription tests: a real webhook receiver on 127.0.0.1, subscribers in each
state, the confirm/unsubscribe links read out of sent emails, and a fresh client IP per test.

The receiver records each POST's headers and raw body (to check the HMAC the way a receiver
would) and answers from a script of replies, the last one repeating.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.test import Client
from django.utils import timezone

from statuspage.models import Subscriber, SubscriberKind
from statuspage.subscriptions.tokens import unsubscribe_token

LINK = re.compile(r"https?://\S+?/status/(?:subscribe/confirm|unsubscribe)/[^/\s\"<>]+/")


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """`with Receiver([Answer(500), Answer(200)]) as hook: hook.url` — a webhook endpoint."""

    def __init__(self, answers: list[Answer] | None = None):
        self.answers = list(answers or [Answer()])
        self.received: list[Received] = []
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/status"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self) -> Answer:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body))
                answer = receiver._next_answer()
                if answer.delay_s:
                    receiver.release.wait(answer.delay_s)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout): what the timeout test wants

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def visitor() -> Client:
    """A browser from an address of its own, so the per-IP subscribe limit never carries over
    from another test (the counters live in Redis)."""
    return Client(REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}")


def fresh_address() -> str:
    # Unique per test: the per-address mail throttle lives in Redis for a minute.
    return f"reader-{uuid.uuid4().hex[:10]}@example.com"


def email_subscriber(*, components=(), confirmed=True, email=None) -> Subscriber:
    moment = timezone.now() - timedelta(hours=1)
    subscriber = Subscriber.objects.create(
        kind=SubscriberKind.EMAIL,
        email=email or fresh_address(),
        confirmed_at=moment if confirmed else None,
        created_at=moment,
    )
    subscriber.components.set(components)
    return subscriber


def webhook_subscriber(url: str, *, components=(), secret="s3cret-for-tests") -> Subscriber:
    moment = timezone.now() - timedelta(hours=1)
    subscriber = Subscriber.objects.create(
        kind=SubscriberKind.WEBHOOK, url=url, secret=secret, confirmed_at=moment, created_at=moment
    )
    subscriber.components.set(components)
    return subscriber


def links_in(message) -> list[str]:
    """The confirm/unsubscribe links of a sent email, as the text part shows them."""
    return LINK.findall(message.body)


def path_of(url: str) -> str:
    """The path of an absolute link, for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def unsubscribe_path(subscriber: Subscriber) -> str:
    return f"/status/unsubscribe/{unsubscribe_token(subscriber.pk)}/"


def html_part(message) -> str:
    return next(content for content, mime in message.alternatives if mime == "text/html")
