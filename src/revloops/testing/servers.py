"""Run an ASGI app on 127.0.0.1 in a background thread, for contract tests against local fakes.

``serve(app)`` picks a free port, starts uvicorn, waits until it listens and stops it on exit.
With ``tls=True`` the server presents a fresh self-signed certificate for 127.0.0.1 and the handle
names the CA file a client must trust (clients that insist on ``https://``, like simple-salesforce).
"""

from __future__ import annotations

import datetime as dt
import gc
import ipaddress
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL (no trailing slash), port and, under TLS, the certificate to trust."""

    url: str
    port: int
    ca_file: Path | None = None


def write_self_signed(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a self-signed certificate and key for ``host`` (an IP) into ``folder``; answer (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: Any, *, tls: bool = False, start_timeout: float = 10.0) -> Iterator[RunningServer]:
    """Serve ``app`` on a free port of 127.0.0.1 until the block ends.

    Args:
        app: an ASGI application (e.g. a FastAPI app).
        tls: serve HTTPS with a self-signed certificate (``RunningServer.ca_file``).
        start_timeout: seconds to wait for the server to listen.

    Yields:
        The running server's URL, port and CA file.
    """
    with tempfile.TemporaryDirectory(prefix="revloops-fake-") as tmp:
        cert_file = key_file = None
        if tls:
            cert_file, key_file = write_self_signed(Path(tmp))
        sock = _free_socket()
        port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", ws="none", http="h11", loop="asyncio",
            ssl_certfile=cert_file, ssl_keyfile=key_file, timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake:{port}")
        thread.start()
        try:
            deadline = time.monotonic() + start_timeout
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the server on port {port} did not start")
                time.sleep(0.01)
            scheme = "https" if tls else "http"
            yield RunningServer(f"{scheme}://127.0.0.1:{port}", port, cert_file)
        finally:
            server.should_exit = True
            server.force_exit = True  # do not wait for idle keep-alive connections to close
            thread.join(timeout=5)
            sock.close()
            # A TLS connection still open at shutdown leaves its socket transport to the garbage collector
            # (uvicorn's loop stops before the TLS close handshake ends); collect it here, quietly, rather
            # than have it warn in whichever test runs next.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
