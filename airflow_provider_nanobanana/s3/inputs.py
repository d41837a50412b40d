"""Let edit and img2img take ``s3://bucket/key`` input images.

Vendors fetch input images themselves, so an S3 object must become something they can read:

- a **data URI** where the vendor takes images inline (AceData, up to its 10 MB limit): it works
  for private buckets and buckets only reachable inside a VPC, and no signed link leaves Airflow;
- otherwise (ModelsLab, or a larger AceData input) a **presigned GET URL**, valid for
  :data:`PRESIGNED_URL_SECONDS` so a queued job can still read it. The vendor must be able to
  reach the bucket's endpoint. The URL is registered with Airflow's secrets masker, since its
  signature grants read access to the object.

Each object is checked to exist and to start like an image before any paid request, and the
rendered template (what the UI shows) keeps the ``s3://`` form.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence

from airflow_provider_nanobanana.images.formats import SNIFF_BYTES, describe, sniff
from airflow_provider_nanobanana.validation import invalid

PRESIGNED_URL_SECONDS = 6 * 3600
S3_SCHEME = "s3://"


def resolve_s3_inputs(
    images: Sequence[str], *, inline_limit: int | None, aws_conn_id: str | None, log: logging.Logger
) -> tuple[str, ...]:
    """Replace each ``s3://`` image by a data URI or presigned URL; leave other images unchanged."""
    if not any(isinstance(image, str) and image.startswith(S3_SCHEME) for image in images):
        return tuple(images)
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.common.compat.sdk import mask_secret

    hook = S3Hook(aws_conn_id=aws_conn_id)
    client = hook.get_conn()
    resolved = []
    for position, image in enumerate(images):
        if not isinstance(image, str) or not image.startswith(S3_SCHEME):
            resolved.append(image)
            continue
        field = f"images[{position}]"
        bucket, key = hook.parse_s3_url(image)
        head = hook.head_object(key, bucket)
        if head is None:
            raise invalid(field, image, "an existing S3 object readable with the AWS connection")
        size = head["ContentLength"]
        inline = inline_limit is not None and size <= inline_limit
        # Inline needs the whole object; a URL only the first bytes, to check it is an image.
        byte_range = {} if inline else {"Range": f"bytes=0-{SNIFF_BYTES - 1}"}
        body = client.get_object(Bucket=bucket, Key=key, **byte_range)["Body"].read()
        image_format = sniff(body[:SNIFF_BYTES])
        if image_format is None:
            raise invalid(field, image, f"a PNG, JPEG, WebP or GIF object; it starts {describe(body)}")
        if inline:
            resolved.append(f"data:{image_format.content_type};base64,{base64.b64encode(body).decode()}")
            log.info("%s: %s (%d bytes) sent inline as a data URI.", field, image, size)
            continue
        url = hook.generate_presigned_url(
            "get_object", {"Bucket": bucket, "Key": key}, expires_in=PRESIGNED_URL_SECONDS
        )
        if url is None:
            raise invalid(field, image, "an object the AWS connection can presign a GET URL for")
        mask_secret(url)
        log.info(
            "%s: %s (%d bytes) sent as a presigned URL valid for %d h.",
            field,
            image,
            size,
            PRESIGNED_URL_SECONDS // 3600,
        )
        resolved.append(url)
    return tuple(resolved)
