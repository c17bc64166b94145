"""OIDC tokens like the ones Pub/Sub push attaches, signed with a key made here.

The push endpoint verifies real RS256 signatures against certificates through
google-auth; tests hand it a transport (``processing.push.tokens.certificate_transport``)
that answers a self-signed certificate of a locally generated key instead of
Google's published ones.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

PUSH_AUDIENCE = "https://dataproc.example.test/pubsub/push"
PUSH_SERVICE_ACCOUNT = "pubsub-push@dataproc-test.iam.gserviceaccount.com"


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_pem: bytes
    certificate_pem: str

    def sign(self, claims: dict, *, key_id: str | None = None) -> str:
        signer = crypt.RSASigner.from_string(self.private_pem, key_id=key_id or self.key_id)
        return jwt.encode(signer, claims).decode()


def make_signing_key(key_id: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test-{key_id}")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return SigningKey(
        key_id=key_id,
        private_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


def push_claims(**overrides) -> dict:
    """The claims of a Pub/Sub push token for the test audience and service account."""
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": PUSH_AUDIENCE,
        "azp": "1234567890",
        "sub": "1234567890",
        "email": PUSH_SERVICE_ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return claims


def unsigned_token(claims: dict) -> str:
    """A JWT with ``alg: none`` and no signature."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def push_body(
    envelope_bytes: bytes, *, message_id: str, delivery_attempt: int | None = None, **attributes
) -> dict:
    """The JSON body Pub/Sub POSTs to a push endpoint (wrapped format)."""
    message = {
        "attributes": attributes,
        "data": base64.b64encode(envelope_bytes).decode(),
        "messageId": message_id,
        "message_id": message_id,
        "publishTime": "2026-01-15T12:30:45.123Z",
        "publish_time": "2026-01-15T12:30:45.123Z",
    }
    body = {"message": message, "subscription": "projects/dataproc-test/subscriptions/dataproc-worker"}
    if delivery_attempt is not None:
        body["deliveryAttempt"] = delivery_attempt
    return body


@dataclass
class _TransportResponse:
    """What google-auth reads of an HTTP answer (``google.auth.transport.Response``)."""

    status: int
    data: bytes
    headers: dict


class CertificatesTransport:
    """A ``google.auth.transport.Request`` answering every GET with ``certificates`` (kid -> PEM)."""

    def __init__(self, certificates: dict[str, str]) -> None:
        self.certificates = certificates
        self.fetches = 0

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        self.fetches += 1
        return _TransportResponse(200, json.dumps(self.certificates).encode(), {})
