"""Where and how images land: bucket, keys and the object options ``S3Hook`` users know.

One :class:`S3Destination` serves the transfer operator and the generating operators'
``s3_output``, and :meth:`S3Destination.checked` validates all of it before anything is
downloaded, so a typo in an ACL or a key template fails in a second with the field named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from airflow_provider_nanobanana.s3.keys import (
    DEFAULT_KEY_TEMPLATE,
    KEY_FIELDS,
    check_key_template,
    normalize_prefix,
    render_key,
)
from airflow_provider_nanobanana.s3.retries import DEFAULT_S3_RETRY_SECONDS
from airflow_provider_nanobanana.validation import check_choice, check_int, invalid

CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Destination:
    """:param bucket: bucket name (no ``s3://``).
    :param prefix: key prefix every object lands under.
    :param key_template: ``str.format`` template; fields ``prefix``, ``vendor``, ``dag_id``,
        ``run_id``, ``task_id``, ``map_index``, ``job_id``, ``index``, ``ext``.
    :param aws_conn_id: the Amazon connection ``S3Hook`` uses.
    :param encrypt: server-side encryption with S3-managed keys (``AES256``), as in ``S3Hook``.
    :param acl_policy: a canned ACL, as in ``S3Hook``.
    :param storage_class: an S3 storage class such as ``STANDARD_IA``.
    :param extra_args: more boto3 ``ExtraArgs`` (``SSEKMSKeyId``, ``Tagging``, ...).
    :param include_prompt: also store the prompt itself in the metadata (its sha256 always is).
    :param max_concurrency: images uploaded at once.
    :param asset_alias: name of the ``AssetAlias`` that receives an asset event per object.
    :param s3_retry_seconds: how long an upload keeps retrying while S3 is unreachable, throttles
        or answers 5xx (:mod:`~airflow_provider_nanobanana.s3.retries`); 0 turns that off.
    """

    bucket: str
    prefix: str = "nanobanana"
    key_template: str = DEFAULT_KEY_TEMPLATE
    aws_conn_id: str | None = "aws_default"
    encrypt: bool = False
    acl_policy: str | None = None
    storage_class: str | None = None
    extra_args: Mapping[str, Any] = field(default_factory=dict)
    include_prompt: bool = False
    max_concurrency: int = 4
    asset_alias: str | None = None
    s3_retry_seconds: float = DEFAULT_S3_RETRY_SECONDS

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, name: str, **defaults: Any) -> S3Destination:
        """Build from a DAG's dict (e.g. ``s3_output``), naming unknown keys instead of ignoring them."""
        if not isinstance(data, Mapping):
            raise invalid(name, data, "a dict with at least 'bucket'")
        known = [item.name for item in fields(cls)]
        for key in data:
            if key not in known:
                raise invalid(f"{name}.{key}", data[key], f"not a known setting; known: {', '.join(known)}")
        if "bucket" not in data:
            raise invalid(f"{name}.bucket", None, "a bucket name is required")
        return cls(**{**defaults, **data})

    def checked(self) -> S3Destination:
        """Validate every setting; return a copy with the prefix normalized."""
        if not isinstance(self.bucket, str) or not _BUCKET.match(self.bucket):
            hint = " without the s3:// scheme" if str(self.bucket).startswith("s3://") else ""
            raise invalid(
                "bucket", self.bucket, f"an S3 bucket name{hint} (3-63 lowercase letters, digits, '.', '-')"
            )
        check_key_template(self.key_template)
        prefix = normalize_prefix(self.prefix)
        # A literal "..", "//" or "\\" in the template fails here, not after the job is paid for.
        render_key(self.key_template, prefix, {name: "sample" for name in KEY_FIELDS if name != "prefix"})
        if self.acl_policy is not None:
            check_choice("acl_policy", self.acl_policy, CANNED_ACLS)
        if self.storage_class is not None:
            check_choice("storage_class", self.storage_class, STORAGE_CLASSES)
        if not isinstance(self.extra_args, Mapping):
            raise invalid("extra_args", self.extra_args, "a dict of boto3 ExtraArgs")
        check_int("max_concurrency", self.max_concurrency, 1, 16)
        retry = self.s3_retry_seconds
        if isinstance(retry, bool) or not isinstance(retry, int | float) or not 0 <= retry <= 3600:
            raise invalid("s3_retry_seconds", retry, "a number of seconds from 0 to 3600")
        return replace(self, prefix=prefix)

    def upload_args(
        self, base: Mapping[str, Any], content_type: str, metadata: Mapping[str, str]
    ) -> dict[str, Any]:
        """boto3 ``ExtraArgs`` for one object: the hook's own ``extra_args`` (``base``), then ours."""
        args: dict[str, Any] = {**base, **self.extra_args}
        args["ContentType"] = content_type
        args["Metadata"] = {**args.get("Metadata", {}), **metadata}
        if self.encrypt:
            args["ServerSideEncryption"] = "AES256"
        if self.acl_policy:
            args["ACL"] = self.acl_policy
        if self.storage_class:
            args["StorageClass"] = self.storage_class
        return args
