"""Run ``flopex serve`` as a real process for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection

from api.client import Client, FlopexError

FLOPEX = Path(sys.executable).parent / "flopex"
CHECKOUT = Path(__file__).resolve().parents[2]
"""The checkout under test: first on the served process's path, so ``flopex serve`` runs its code
even when the environment's ``flopex`` was installed (editable) from another checkout."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(
    url: str,
    *extra: str,
    ready_within: float = 60,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[tuple[httpx.Client, subprocess.Popen[str]]]:
    """Run ``flopex serve`` on ``url`` until the block ends (then SIGTERM); yields a client, the process.

    ``env`` adds environment variables (``FLOPEX_CLOCK_START``, ...). Fails unless the server answers
    ``/health`` within ``ready_within`` seconds. ``port`` (default: a free one) lets a test restart
    the server where its clients expect it."""
    port = port or free_port()
    env = {**os.environ, "FLOPEX_RATE_LIMIT": "0", "FLOPEX_LOG_LEVEL": "warning", **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(CHECKOUT), env.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen(
        [str(FLOPEX), "serve", "--port", str(port), "--db", url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if process.poll() is not None:
                pytest.fail(f"flopex serve exited: {process.stderr.read() if process.stderr else ''}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"flopex serve did not become healthy within {ready_within:g} s")
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving_shard(
    url: str, products: str, env: dict[str, str] | None = None
) -> Iterator[tuple[httpx.Client, subprocess.Popen[str], str]]:
    """:func:`serving` of a shard (``flopex serve --products``) on a free port, its
    ``FLOPEX_PUBLIC_URL`` set to that port; yields a client, the process and the shard's base URL."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    shard_env = {**(env or {}), "FLOPEX_PUBLIC_URL": public}
    with serving(url, "--products", products, env=shard_env, port=port) as (client, process):
        yield client, process, public


@contextmanager
def serving_in_thread(app: Any, port: int) -> Iterator[None]:
    """Serve the ASGI ``app`` on loopback ``port`` from a thread of this process until the block
    ends: a peer another in-process app can open connections to (a shard's mirror, a move)."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def drain(stream: ClientConnection) -> None:
    """Read ``stream`` until it closes (raises ``ConnectionClosed``)."""
    while True:
        stream.recv(timeout=10)


def until_placed(flopex: Client, within: float, **order: object) -> tuple[str, float]:
    """Place ``order``, retrying while the books move (503 book_moving); its id and the seconds waited."""
    started = time.monotonic()
    while True:
        try:
            return flopex.place(**order).id, time.monotonic() - started  # type: ignore[arg-type]
        except FlopexError as exc:
            if exc.code != "book_moving" or time.monotonic() - started > within:
                raise
            time.sleep(0.2)
