"""Where an S3-compatible hub is (a checked address) and the credentials to use it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HubAddress:
    """A hub's endpoint URL, bucket, region and addressing style, as a team card holds it."""

    endpoint: str
    bucket: str = "fieldapp"
    region: str = "us-east-1"
    style: str = "auto"  # path | virtual | auto: virtual on AWS and Aliyun OSS, else path

    @property
    def addressing(self) -> str:
        """Path-style (``host/bucket/key``: SeaweedFS, MinIO) or virtual-hosted
        (``bucket.host/key``: Aliyun OSS requires it, AWS prefers it)."""
        if self.style in ("path", "virtual"):
            return self.style
        from urllib.parse import urlsplit

        host = urlsplit(self.endpoint).hostname or ""
        return "virtual" if host.endswith((".aliyuncs.com", ".amazonaws.com")) else "path"

    @classmethod
    def parse(
        cls,
        endpoint: str,
        bucket: str = "fieldapp",
        region: str = "us-east-1",
        style: str = "auto",
    ) -> HubAddress:
        """A checked address: ``http(s)://host[:port]``, an S3 bucket name, a region;
        ``CardError(what="hub_address")`` otherwise."""
        from urllib.parse import urlsplit

        from fieldapp.errors import CardError

        endpoint = endpoint.strip().rstrip("/")
        try:
            parts = urlsplit(endpoint)
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            raise CardError(what="hub_address") from None
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or not port_ok
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
            or parts.password is not None
            or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket)
            or not re.fullmatch(r"[A-Za-z0-9-]{1,40}", region)
            or style not in ("auto", "path", "virtual")
        ):
            raise CardError(what="hub_address")
        return cls(endpoint, bucket, region, style)

    @classmethod
    def from_card(cls, hub: dict[str, str] | None) -> HubAddress | None:
        """The address a team card names (checked), or ``None`` when it names none."""
        if not hub or not hub.get("endpoint"):
            return None
        return cls.parse(
            str(hub["endpoint"]),
            str(hub.get("bucket") or "fieldapp"),
            str(hub.get("region") or "us-east-1"),
            str(hub.get("style") or "auto"),
        )

    @property
    def port(self) -> int:
        """The endpoint's port, the scheme's default when it names none."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.endpoint)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def to_card(self) -> dict[str, str]:
        """The address as a team card stores it (``style`` only when it is not ``auto``)."""
        card = {"endpoint": self.endpoint, "bucket": self.bucket, "region": self.region}
        if self.style != "auto":
            card["style"] = self.style
        return card


@dataclass(frozen=True)
class Credentials:
    """An S3 access key and its secret; the secret is never shown in a repr."""

    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # never print the secret
        """The access key with the secret masked, so credentials are safe in logs."""
        return f"Credentials({self.access_key!r}, ***)"

    def to_json(self) -> dict[str, str]:
        """As the vault stores them."""
        return {"access_key": self.access_key, "secret_key": self.secret_key}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Credentials | None:
        """From what the vault stores; ``None`` when a key or the secret is missing."""
        if not d or not d.get("access_key") or not d.get("secret_key"):
            return None
        return cls(str(d["access_key"]), str(d["secret_key"]))
