"""Helpers for the worker's tests: a real SMTP server on localhost, and `leadflow worker`
subprocesses pointed at the test database."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import quote

import time_machine
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads.models import Lead, OutboxEvent

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

# aiosmtpd logs every SMTP command at INFO: too much for a test's output.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An SMTP server (aiosmtpd) that keeps every message it accepts. Recipients whose
    address starts with "bounce" are refused with a permanent 550."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def use_in(self, settings) -> None:
        """Point Django's mail settings (the pytest-django `settings` fixture) at this server."""
        settings.EMAIL_BACKEND = SMTP_BACKEND
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = self.port

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.received()]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received() if m["To"] == address]


def database_url() -> str:
    """DATABASE_URL of the database the tests run on (the test database, not the real one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
        return f"postgres://{auth}@{host}/{db['NAME']}"
    raise NotImplementedError(connection.vendor)


def worker_env(sink: SmtpSink, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "LEADFLOW_EMAIL_HOST": "127.0.0.1",
        "LEADFLOW_EMAIL_PORT": str(sink.port),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the command sets its own
    return env


def start_worker(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """`leadflow worker ARGS` in its own process; its log goes to a pipe (stdout and stderr)."""
    return subprocess.Popen(
        [sys.executable, "-m", "leadflow", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )



def give_everyone_an_address() -> None:
    """username@example.com for every user, so every notification has an e-mail too."""
    for user in User.objects.all():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])


def offers_overdue_since(world, count: int, days: int = 5) -> list[Lead]:
    """`count` leads offered to inside sales `days` ago, so their deadlines have passed. The
    outbox events of getting there are marked processed: they are not what is tested."""
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=False):
        leads = [world.lead_at("mql") for _ in range(count)]
    OutboxEvent.objects.update(processed_at=timezone.now())
    return leads
