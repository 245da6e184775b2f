"""A private nginx for tests: its own prefix, pid file, logs and temporary directories, serving one site
configuration (rendered from adapters/nginx or deploy/compose by the caller) on loopback ports.

    cert, key = server_certificate(tmp_path)
    with nginx_serving(tmp_path, site_text, port) as url:   # url = "https://127.0.0.1:<port>"
        requests.get(url + "/healthz", verify=str(cert))
"""
from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from idp.pki import demo


def server_certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as server.pem and server.key in `tmp`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "server.pem", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def client_credentials(pki_root: Path, manifest: dict, ca: str, role: str, out: Path) -> tuple[str, str]:
    """The demo certificate and its key, unencrypted, as files for requests' ``cert=``."""
    entry = next(e for e in manifest["certificates"] if e["ca"] == ca and e["role"] == role)
    key, cert, _ = pkcs12.load_key_and_certificates((pki_root / entry["p12"]).read_bytes(), demo.PASSWORD)
    cert_path, key_path = out / f"{ca}-{role}.pem", out / f"{ca}-{role}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@contextlib.contextmanager
def nginx_serving(tmp_path: Path, site: str, port: int):
    """nginx with `site` included in its http block, until the block ends; fails the test, with
    nginx's error output, when it does not start listening on `port` within 10 s."""
    (tmp_path / "idp-site.conf").write_text(site)
    temp_dirs = " ".join(f"{d}_temp_path {tmp_path}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ access_log off; {temp_dirs} include {tmp_path}/idp-site.conf; }}\n")
    process = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                               stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    process.kill()
                    pytest.fail("nginx did not start: " + process.stderr.read().decode(errors="replace"))
                time.sleep(0.05)
        yield f"https://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
