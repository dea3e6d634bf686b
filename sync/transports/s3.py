"""S3-compatible object storage as a transport (DESIGN §3.5): the team's hub, whether
``fieldapp hub`` (SeaweedFS) on the supervisor's office machine, MinIO, AWS S3 or
Aliyun OSS.

- Keys are ``inbox/<device>/<seq>.fbundle``; a device's credentials may write only
  there.
- Uploads are create-only (``If-None-Match: *``). When the key exists already, the
  stored bytes are read back: the same bundle means an earlier upload whose
  acknowledgement was lost (success); different bytes raise the alarm and nothing is
  overwritten.
- Large bundles go up in parts; an interrupted multipart upload is found again
  (``ListMultipartUploads``) and only the missing parts are sent.
- Transient failures (no route, refused, timeouts, 5xx, throttling) are retried with
  exponential backoff and full jitter; refusals (bad credentials, access denied) are not.

boto3 is imported lazily: the app starts without paying for it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fieldapp.domain.clock import SYSTEM
from fieldapp.errors import (
    BundleConflictError,
    HubClockWrong,
    HubDenied,
    HubUnreachable,
    TransportError,
)
from sync.transports.base import Listed, Transport
from sync.transports.endpoint import Credentials, HubAddress

T = TypeVar("T")

INBOX = "inbox/"
ARCHIVE = "archive/"
PART_SIZE = 5 * 1024 * 1024  # the S3 minimum for every part but the last
MULTIPART_THRESHOLD = 8 * 1024 * 1024
RETRYABLE_CODES = frozenset(
    {
        "500",
        "502",
        "503",
        "504",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "Throttling",
        "TooManyRequests",
        "ServerBusy",
        "429",
        "ConditionalRequestConflict",
        "OperationAborted",
        "NoSuchUpload",
    }
)
DENIED_CODES = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
)


def backoff_delays(
    attempts: int, base: float = 0.5, cap: float = 8.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Full-jitter exponential backoff: the n-th wait is uniform in [0, min(cap, base·2ⁿ)]."""
    rng = rng or random.Random()
    for n in range(attempts):
        yield rng.uniform(0, min(cap, base * 2**n))


class S3Transport(Transport):
    """A bucket on an S3-compatible endpoint."""

    def __init__(
        self,
        address: HubAddress,
        credentials: Credentials,
        *,
        attempts: int = 5,
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        sleep: Callable[[float], None] = SYSTEM.sleep,
        part_size: int = PART_SIZE,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        probe_key: str | None = None,
    ) -> None:
        self.address = address
        self.probe_key = probe_key
        self.credentials = credentials
        self.attempts = attempts
        self.sleep = sleep
        self.part_size = part_size
        self.multipart_threshold = multipart_threshold
        self._timeouts = (connect_timeout, read_timeout)
        self._client: Any = None

    # ------------------------------------------------------------------ plumbing

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (importing boto3 takes a while)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.address.endpoint,
                region_name=self.address.region,
                aws_access_key_id=self.credentials.access_key,
                aws_secret_access_key=self.credentials.secret_key,
                config=Config(
                    s3={"addressing_style": self.address.addressing},
                    retries={"total_max_attempts": 1, "mode": "standard"},  # we retry ourselves
                    connect_timeout=self._timeouts[0],
                    read_timeout=self._timeouts[1],
                    tcp_keepalive=True,
                    user_agent_extra="fieldapp",
                ),
            )
        return self._client

    def where(self, key: str) -> str:
        """The object's URL (path-style, whatever the addressing)."""
        return f"{self.address.endpoint}/{self.address.bucket}/{key}"

    def _classify(self, exc: Exception, key: str) -> TransportError:
        """Translate a boto/botocore failure; a retryable one becomes ``HubUnreachable``."""
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in ("RequestTimeTooSkewed", "RequestExpired"):
                return HubClockWrong(path=self.where(key), reason=code)
            if code in DENIED_CODES or status == "403":
                return HubDenied(path=self.where(key), reason=code or status)
            if code in RETRYABLE_CODES or status in RETRYABLE_CODES:
                return HubUnreachable(path=self.where(key), reason=code or status)
            return TransportError(path=self.where(key), reason=f"{code} {status}".strip())
        if isinstance(exc, BotoCoreError | OSError):
            return HubUnreachable(path=self.where(key), reason=type(exc).__name__)
        raise exc

    def _retry(self, key: str, action: Callable[[], T], attempts: int | None = None) -> T:
        last: TransportError | None = None
        for delay in [*backoff_delays((attempts or self.attempts) - 1), None]:
            try:
                return action()
            except TransportError:
                raise  # ours (conflict, read-back): final
            except Exception as exc:
                last = self._classify(exc, key)
                if not isinstance(last, HubUnreachable) or delay is None:
                    break
                self.sleep(delay)
        assert last is not None
        raise last from None

    @staticmethod
    def _code(exc: Exception) -> str:
        response = getattr(exc, "response", None) or {}
        return str(response.get("Error", {}).get("Code", ""))

    @staticmethod
    def _status(exc: Exception) -> int | None:
        """The HTTP status of a failure; ``None`` when there was no answer (botocore's
        timeouts and dropped connections carry ``response = None``)."""
        response = getattr(exc, "response", None) or {}
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None

    # ------------------------------------------------------------------ Transport

    def key_for(self, team_id: str, device_id: str, seq: int) -> str:
        """``inbox/<device>/<seq, 8 digits>.fbundle`` (the bucket is the team's)."""
        return f"{INBOX}{device_id}/{seq:08d}.fbundle"

    def probe(self) -> None:
        """One quick request these credentials must be allowed to make — a worker writes
        a tiny ``.probe`` object under its own prefix (a HEAD of a missing key would be
        403 on AWS without ``ListBucket``), the supervisor looks at the bucket. Returns
        when the hub answers and accepts them; raises ``HubUnreachable``, ``HubDenied``
        or ``HubClockWrong``."""
        key = self.probe_key or ""

        def ask() -> None:
            if self.probe_key:
                self.client.put_object(Bucket=self.address.bucket, Key=key, Body=b"")
            else:  # a listing, not HEAD: its errors carry a code (a skewed clock, say)
                self.client.list_objects_v2(Bucket=self.address.bucket, Prefix=INBOX, MaxKeys=1)

        self._retry(key, ask, attempts=1)  # one question; the caller backs off

    def put(self, key: str, data: bytes) -> None:
        """Create ``key`` with ``data``; success also when the same bytes are there."""
        if len(data) >= self.multipart_threshold:
            self._retry(key, lambda: self._put_multipart(key, data))
        else:
            self._retry(key, lambda: self._put_single(key, data))

    def _put_single(self, key: str, data: bytes) -> None:
        # boto3 sends a CRC32 of the body that the service checks before it answers 200;
        # the ETag is not compared (it is no MD5 under SSE-KMS and on some services).
        try:
            self.client.put_object(
                Bucket=self.address.bucket,
                Key=key,
                Body=data,
                IfNoneMatch="*",
                ContentType="application/octet-stream",
            )
        except Exception as exc:
            if self._code(exc) == "PreconditionFailed":
                self._same_or_alarm(key, data)
                return
            raise

    def _put_multipart(self, key: str, data: bytes) -> None:
        bucket = self.address.bucket
        upload_id = self._open_upload(key)
        done = self._uploaded_parts(key, upload_id)
        parts = []
        for number, start in enumerate(range(0, len(data), self.part_size), 1):
            chunk = data[start : start + self.part_size]
            etag = '"' + hashlib.md5(chunk).hexdigest() + '"'
            if done.get(number) != etag:
                try:
                    response = self.client.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                except Exception as exc:
                    if self._code(exc) == "NoSuchUpload":  # expired or aborted meanwhile
                        self._abort(key, upload_id)
                    raise  # retried from the start: a fresh upload
                etag = response["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
        try:
            self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                IfNoneMatch="*",
                MultipartUpload={"Parts": parts},
            )
        except Exception as exc:
            if self._code(exc) == "PreconditionFailed":
                self._abort(key, upload_id)
                self._same_or_alarm(key, data)
                return
            if self._code(exc) == "NoSuchUpload" and self._exists(key):  # it completed
                self._same_or_alarm(key, data)
                return
            raise

    def _open_upload(self, key: str) -> str:
        """The upload to resume for ``key`` (an interrupted earlier one), or a new one."""
        try:
            listed = self.client.list_multipart_uploads(Bucket=self.address.bucket, Prefix=key)
            uploads = [u for u in listed.get("Uploads", []) if u.get("Key") == key]
        except Exception as exc:
            if self._code(exc) not in DENIED_CODES:
                raise
            uploads = []  # not allowed to look: start afresh
        if uploads:
            latest = max(uploads, key=lambda u: u.get("Initiated") or 0)
            return str(latest["UploadId"])
        created = self.client.create_multipart_upload(
            Bucket=self.address.bucket, Key=key, ContentType="application/octet-stream"
        )
        return str(created["UploadId"])

    def _uploaded_parts(self, key: str, upload_id: str) -> dict[int, str]:
        try:
            listed = self.client.list_parts(Bucket=self.address.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            if self._code(exc) in ("NoSuchUpload", *DENIED_CODES):
                return {}
            raise
        return {int(p["PartNumber"]): str(p["ETag"]) for p in listed.get("Parts", [])}

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(
                Bucket=self.address.bucket, Key=key, UploadId=upload_id
            )
        except Exception:  # leftover parts expire on the hub
            pass

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.address.bucket, Key=key)
            return True
        except Exception as exc:
            if self._status(exc) == 404:
                return False
            raise

    def _same_or_alarm(self, key: str, data: bytes) -> None:
        stored = self._get_once(key)
        if hashlib.sha256(stored).digest() != hashlib.sha256(data).digest():
            raise BundleConflictError(path=self.where(key))

    def _get_once(self, key: str, limit: int | None = None) -> bytes:
        extra = {} if limit is None else {"Range": f"bytes=0-{limit}"}
        response = self.client.get_object(Bucket=self.address.bucket, Key=key, **extra)
        body: bytes = response["Body"].read() if limit is None else response["Body"].read(limit + 1)
        return body

    def get(self, key: str, limit: int | None = None) -> bytes:
        """The object's bytes; with ``limit``, at most ``limit + 1`` of them, so an
        oversized object is recognised without being downloaded whole."""
        return self._retry(key, lambda: self._get_once(key, limit))

    def scan(self, prefix: str = "") -> list[Listed]:
        """Every object under ``prefix`` with its size (an object can always be read)."""

        def listing() -> list[Listed]:
            found = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.address.bucket, Prefix=prefix):
                for o in page.get("Contents", []):
                    found.append(Listed(str(o["Key"]), int(o.get("Size", 0))))
            return sorted(found, key=lambda listed: listed.key)

        return self._retry(prefix, listing)

    def archive(self, key: str, target: str) -> None:
        """Supervisor: move a merged bundle from ``inbox/`` to ``target`` under
        ``archive/`` on the hub (copy, then delete)."""
        if not key.startswith(INBOX) or not target.startswith(ARCHIVE):
            raise TransportError(path=self.where(key), reason="not an inbox key")
        bucket = self.address.bucket

        def move() -> None:
            self.client.copy_object(
                Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key}
            )
            self.client.delete_object(Bucket=bucket, Key=key)

        self._retry(key, move)

    def ensure_bucket(self) -> None:
        """Supervisor: create the bucket when it is not there yet."""

        def create() -> None:
            try:
                self.client.head_bucket(Bucket=self.address.bucket)
            except Exception as exc:
                if self._status(exc) != 404:
                    raise
                self.client.create_bucket(Bucket=self.address.bucket)

        self._retry(self.address.bucket, create)
