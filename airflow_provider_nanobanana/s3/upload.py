"""Write one object to S3 while its body is still arriving, so that nothing shows until it is whole.

A body up to the transfer config's ``multipart_threshold`` is kept in memory and sent with one
``PutObject`` once it is complete. A larger one becomes a multipart upload whose parts go out on
a few threads while the download goes on, at most :data:`PARTS_IN_FLIGHT` at a time, so memory
stays near ``(PARTS_IN_FLIGHT + 1) * part size`` whatever the image's size. S3 shows no object
before ``CompleteMultipartUpload``, which is called only once the whole body has been verified;
any failure aborts the upload, so a bad download never leaves a partial object or billed parts.

Object metadata must be known when the upload starts, before the last byte and so before the
body's sha256: a single ``PutObject`` carries it as ``sha256`` metadata, a multipart object does
not (its record, asset event and log line do). The arguments each call takes are those
``s3transfer`` passes on, checksum default included, so an ``S3Hook``'s ``extra_args`` behave as
they do in ``upload_file``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from airflow_provider_nanobanana.s3.retries import with_s3_retries
from airflow_provider_nanobanana.stores.pending import PendingBytes

PARTS_IN_FLIGHT = 2
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part but the last
_PART_ARGS = (
    "ChecksumAlgorithm",
    "SSECustomerKey",
    "SSECustomerAlgorithm",
    "SSECustomerKeyMD5",
    "RequestPayer",
    "ExpectedBucketOwner",
)
_COMPLETE_ARGS = _PART_ARGS[1:]
_NOT_FOR_PUT_OR_CREATE = ("ChecksumType", "MpuObjectSize")


class ObjectUpload:
    """Receives a body in pieces (:meth:`write`), then :meth:`complete` or :meth:`abort`.

    :param client: a boto3 S3 client (thread-safe once built).
    :param args: boto3 ``ExtraArgs`` for the object (content type, metadata, encryption, ...).
    :param config: the ``S3Hook``'s ``TransferConfig``: threshold and part size.
    :param retry_window: seconds each call rides out a transient S3 failure
        (:func:`~airflow_provider_nanobanana.s3.retries.with_s3_retries`).
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        args: Mapping[str, Any],
        *,
        config: Any,
        retry_window: float,
        log: logging.Logger,
    ) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.args = {name: value for name, value in args.items() if name not in _NOT_FOR_PUT_OR_CREATE}
        if client.meta.config.request_checksum_calculation == "when_supported":
            # As s3transfer does: S3 then checks every part against its CRC32 on arrival.
            from s3transfer.utils import set_default_checksum_algorithm

            set_default_checksum_algorithm(self.args)
        self.threshold = max(int(config.multipart_threshold), 1)
        self.part_size = max(int(config.multipart_chunksize), MIN_PART_BYTES)
        self.retry_window = retry_window
        self.log = log
        self._pending = PendingBytes()
        self._upload_id: str | None = None
        self._parts: list[Future[dict[str, Any]]] = []
        self._pool: ThreadPoolExecutor | None = None

    @property
    def multipart(self) -> bool:
        return self._upload_id is not None

    def write(self, data: bytes) -> None:
        self._pending.add(data)
        if self._upload_id is None and self._pending.size <= self.threshold:
            return
        if self._upload_id is None:
            self._start_multipart()
        while self._pending.size >= self.part_size:
            self._send_part(self._pending.take(self.part_size))

    def complete(self, metadata_if_single: Mapping[str, str]) -> None:
        """Make the object visible; ``metadata_if_single`` joins the metadata of a one-call upload."""
        if self._upload_id is None:
            args = {**self.args, "Metadata": {**self.args.get("Metadata", {}), **metadata_if_single}}
            body = self._pending.take(self._pending.size)
            self._call("put_object", Bucket=self.bucket, Key=self.key, Body=body, **args)
            return
        if self._pending.size:
            self._send_part(self._pending.take(self._pending.size))
        parts = [part.result() for part in self._parts]
        self._close_pool()
        self._call(
            "complete_multipart_upload",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": parts},
            **_only(self.args, _COMPLETE_ARGS),
        )

    def abort(self) -> None:
        """Drop what was sent: S3 keeps (and bills) the parts of an upload never completed or aborted."""
        self._pending.clear()
        if self._upload_id is None:
            return
        for part in self._parts:
            part.cancel()
        self._close_pool()
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        except Exception as error:  # the failure being handled matters more; say what is left behind
            self.log.warning(
                "Could not abort the multipart upload %s of s3://%s/%s (%s); a bucket lifecycle rule "
                "for incomplete multipart uploads removes its parts.",
                self._upload_id,
                self.bucket,
                self.key,
                error,
            )

    def _start_multipart(self) -> None:
        answer = self._call("create_multipart_upload", Bucket=self.bucket, Key=self.key, **self.args)
        self._upload_id = answer["UploadId"]
        self._pool = ThreadPoolExecutor(max_workers=PARTS_IN_FLIGHT, thread_name_prefix="nanobanana-part")

    def _send_part(self, body: bytes) -> None:
        unfinished = [part for part in self._parts if not part.done()]
        if len(unfinished) >= PARTS_IN_FLIGHT:  # bounded memory: wait for the oldest part to go out
            unfinished[0].result()
        for part in self._parts:
            if part.done():
                part.result()  # a part S3 refused stops the download now
        assert self._pool is not None
        self._parts.append(self._pool.submit(self._upload_part, len(self._parts) + 1, body))

    def _upload_part(self, number: int, body: bytes) -> dict[str, Any]:
        extra = _only(self.args, _PART_ARGS)
        answer = self._call(
            "upload_part",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
            **extra,
        )
        part = {"ETag": answer["ETag"], "PartNumber": number}
        if "ChecksumAlgorithm" in extra:
            member = f"Checksum{extra['ChecksumAlgorithm'].upper()}"
            if member in answer:
                part[member] = answer[member]
        return part

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return with_s3_retries(
            lambda: getattr(self.client, operation)(**kwargs),
            window=self.retry_window,
            what=f"{operation} for s3://{self.bucket}/{self.key}",
            log=self.log,
        )

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _only(args: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: args[name] for name in names if name in args}
