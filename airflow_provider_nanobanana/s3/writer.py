"""S3's side of a landing: one boto3 client for all of a landing's uploads, each an
:class:`~airflow_provider_nanobanana.s3.upload.ObjectUpload` with the destination's arguments."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_nanobanana.links import object_link
from airflow_provider_nanobanana.s3.bucket_check import destination_error
from airflow_provider_nanobanana.s3.upload import ObjectUpload

if TYPE_CHECKING:
    from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError
    from airflow_provider_nanobanana.stores.destination import Destination


@dataclass(frozen=True)
class S3Connection:
    """What every upload of one landing shares: the hook, its boto3 client (thread-safe once
    built; building one is not), transfer config and extra args."""

    hook: Any
    client: Any
    config: Any
    base_args: Mapping[str, Any]

    @classmethod
    def open(cls, aws_conn_id: str | None) -> S3Connection:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=aws_conn_id)
        return cls(hook, hook.get_conn(), hook.transfer_config, hook.extra_args)


@dataclass(frozen=True)
class S3Writer:
    destination: Destination
    s3: S3Connection
    log: logging.Logger

    @classmethod
    def open(cls, destination: Destination, log: logging.Logger) -> S3Writer:
        return cls(destination, S3Connection.open(destination.store_conn_id), log)

    @property
    def hook(self) -> Any:
        return self.s3.hook

    @property
    def failures(self) -> tuple[type[BaseException], ...]:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError, S3UploadFailedError

    def upload(self, key: str, content_type: str, metadata: Mapping[str, str]) -> ObjectUpload:
        args = self.destination.upload_args(self.s3.base_args, content_type, metadata)
        return ObjectUpload(
            self.s3.client,
            self.destination.bucket,
            key,
            args,
            config=self.s3.config,
            retry_window=self.destination.s3_retry_seconds,
            log=self.log,
        )

    def link(self, key: str) -> str:
        meta = self.s3.client.meta
        return object_link(meta.endpoint_url, meta.region_name, self.destination.bucket, key)

    def refusal(self, error: BaseException) -> NanoBananaDestinationError | None:
        return destination_error(error, self.destination)
