"""Before anything is paid for: the bucket exists and this Amazon connection may use it.

A typo in a bucket name used to cost a paid image, then every Airflow retry. One ``HeadBucket``
call (IAM ``s3:ListBucket`` on the bucket) proves the bucket is there and the credentials reach
it. Write permission (``s3:PutObject``) cannot be proven without writing; an upload refused
for it fails the task without retries too, naming the paid images (:func:`destination_error`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from airflow_provider_nanobanana.exceptions import NanoBananaS3DestinationError
from airflow_provider_nanobanana.s3.retries import with_s3_retries

if TYPE_CHECKING:
    from airflow_provider_nanobanana.stores.destination import Destination

_MISSING = frozenset({"404", "NoSuchBucket"})
_REFUSED = frozenset(
    {"403", "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)
PERMISSIONS = "s3:ListBucket on the bucket and s3:PutObject on the keys"


def check_bucket(destination: Destination, log: logging.Logger) -> None:
    """Raise :class:`NanoBananaS3DestinationError` unless the bucket answers ``HeadBucket``; an
    outage is ridden out as uploads ride it out (``s3_retry_seconds``)."""
    from botocore.exceptions import ClientError

    from airflow_provider_nanobanana.s3.writer import S3Connection

    client = S3Connection.open(destination.store_conn_id).client
    try:
        with_s3_retries(
            lambda: client.head_bucket(Bucket=destination.bucket),
            window=destination.s3_retry_seconds,
            what=f"HeadBucket for s3://{destination.bucket}",
            log=log,
        )
    except ClientError as error:
        raise destination_error(error, destination) or error from None
    log.info("S3 bucket %s is there and this connection reaches it.", destination.bucket)


def destination_error(error: BaseException, destination: Destination) -> NanoBananaS3DestinationError | None:
    """The typed error for an S3 answer no retry changes (no such bucket, access refused), or None."""
    from botocore.exceptions import ClientError

    cause = error if isinstance(error, ClientError) else error.__cause__ or error.__context__
    if not isinstance(cause, ClientError):
        return None
    code = str(cause.response.get("Error", {}).get("Code", ""))
    bucket, conn = destination.bucket, destination.aws_conn_id
    if code in _MISSING:
        problem = f"S3 bucket {bucket!r} does not exist (or is not visible to aws_conn_id={conn!r})"
    elif code in _REFUSED:
        problem = (
            f"aws_conn_id={conn!r} may not use S3 bucket {bucket!r} (S3 answered {code}); "
            f"it needs {PERMISSIONS}"
        )
    else:
        return None
    return NanoBananaS3DestinationError(
        f"{problem}.\nNo retry can fix this: correct the bucket or the permissions, then clear the task.",
        bucket=bucket,
        aws_conn_id=conn,
        code=code,
    )
