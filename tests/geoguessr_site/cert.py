"""A throw-away self-signed certificate for every host the mock answers for (openssl)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

from tests.geoguessr_site.config import MockSiteUnavailable
from tests.geoguessr_site.hosts import ALL_HOSTS


def server_ssl_context(folder: Path) -> ssl.SSLContext:
    """Make (once per folder) a key and certificate for all site hosts; return a server context."""
    if shutil.which("openssl") is None:
        raise MockSiteUnavailable("openssl is not installed (apt-get install openssl): the "
                                     "mock site needs it for its certificate")
    folder.mkdir(parents=True, exist_ok=True)
    key, crt = folder / "mock-site.key", folder / "mock-site.crt"
    if not (key.exists() and crt.exists()):
        san = ",".join(f"DNS:{h}" for h in ALL_HOSTS)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=www.geoguessr.com", "-keyout", str(key), "-out", str(crt),
                        "-addext", f"subjectAltName={san}"],
                       check=True, capture_output=True, timeout=60)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    return ctx
