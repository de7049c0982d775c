"""A real Mosquitto started by a test with the files ``sharefab mqtt acl`` writes.

``per_listener_settings true``, ``allow_anonymous false``, the generated ``password_file`` and
``acl_file`` on a plain listener, and optionally a TLS listener with a certificate signed by a
CA the test generates (``cryptography``). Everything lives under the test's tmp dir.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.connectors.realservers import wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def mosquitto_or_skip() -> str:
    if not os.access(MOSQUITTO, os.X_OK):
        if IN_CI:
            pytest.fail(f"{MOSQUITTO} missing (CI=true: a missing server is a failure)")
        pytest.skip(f"{MOSQUITTO} is not installed")
    return MOSQUITTO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class TlsMaterial:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(workdir: Path) -> TlsMaterial:
    """A throwaway CA and a broker certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sharefab test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    material = TlsMaterial(workdir / "ca.pem", workdir / "broker.pem", workdir / "broker.key")
    material.ca_file.write_bytes(ca.public_bytes(pem))
    material.cert_file.write_bytes(cert.public_bytes(pem))
    material.key_file.write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return material


class SecuredMosquitto:
    """Mosquitto with the generated ACL on ``port`` (and TLS on ``tls_port`` if asked)."""

    def __init__(self, binary: str, workdir: Path, acl_dir: Path,
                 tls: TlsMaterial | None = None) -> None:
        self.binary, self.port = binary, free_port()
        self.tls_port = free_port() if tls else None
        self.conf = workdir / "mosquitto.conf"
        secured = [
            "allow_anonymous false",
            f"password_file {acl_dir / 'passwd'}",
            f"acl_file {acl_dir / 'acl'}",
        ]
        lines = ["per_listener_settings true", "persistence false", "log_dest none"]
        if os.geteuid() == 0:  # else mosquitto drops to its own user and cannot read tmp
            lines.append("user root")
        lines += [f"listener {self.port} 127.0.0.1", *secured]
        if tls is not None:
            lines += [f"listener {self.tls_port} 127.0.0.1", *secured,
                      f"cafile {tls.ca_file}", f"certfile {tls.cert_file}",
                      f"keyfile {tls.key_file}", "tls_version tlsv1.2"]
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        if not wait_for(lambda: all(_listening(p) for p in ports), 10):
            self.stop()
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise AssertionError(f"mosquitto did not start: {err[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
