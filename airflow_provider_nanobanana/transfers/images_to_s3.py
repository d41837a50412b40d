"""Land the images of finished Nano Banana jobs in S3, or any store a URI names.

Vendor links do not last (ModelsLab deletes images after 24 hours unless vendor-side S3 is set
up) and a CDN is not the user's storage, so a DAG ends with this task. Importing this module
stays light: boto3, httpx and the hooks load when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.links import NanoBananaImageLink
from airflow_provider_nanobanana.s3.retries import DEFAULT_S3_RETRY_SECONDS
from airflow_provider_nanobanana.stores.keys import DEFAULT_KEY_TEMPLATE
from airflow_provider_nanobanana.stores.operator_mixin import (
    LandsImages,
    declarable_destination,
    landing_outlets,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class NanoBananaImagesToS3Operator(LandsImages, BaseOperator):
    """Download, verify and upload every image of one or more finished jobs.

    Bodies stream to S3 as they arrive (multipart for large ones, in bounded memory), are checked
    by magic bytes and length, and land under keys rendered from ``key_template`` with vendor,
    job id, image index, seed and prompt sha256 (and, for one-call uploads, sha256) as object
    metadata. A retry writes the same keys; no object appears before its body is verified.

    :param jobs: the XCom of a generate/edit/img2img task or ``NanoBananaJobSensor`` (pass
        ``task.output``), or a list of them, such as a mapped task's output, or a list of outputs
        (templated). Downstream of mapped tasks, use ``trigger_rule="all_done"``: the images of
        the tasks that succeeded land, then the transfer fails naming the ones that did not.
    :param destination_uri: where the images land, on any store (templated):
        ``s3://bucket/prefix``, ``gs://bucket/prefix``, ``abfs://container@account/prefix``,
        ``wasb://container@account/prefix`` or ``file:///directory``; or give ``s3_bucket``.
    :param conn_id: the connection for ``destination_uri``'s store (default: Airflow's own for
        the scheme; ``aws_conn_id`` for S3).
    :param s3_bucket: destination S3 bucket, instead of ``destination_uri`` (templated).
    :param s3_prefix: key prefix in ``s3_bucket`` (templated).
    :param key_template: see :class:`~airflow_provider_nanobanana.stores.destination.Destination`.
    :param aws_conn_id: the Amazon connection for ``S3Hook``.
    :param prompt: the prompt, to record its sha256 when the summary has none (templated).
    :param include_prompt: also store the prompt text itself in the metadata.
    :param encrypt: ``AES256`` server-side encryption, as in ``S3Hook``.
    :param acl_policy: a canned ACL, as in ``S3Hook``.
    :param storage_class: an S3 storage class.
    :param extra_args: more boto3 ``ExtraArgs`` (``SSEKMSKeyId``, ``Tagging``, ...).
    :param max_concurrency: images uploaded at once.
    :param asset_alias: an ``AssetAlias`` name; each object also becomes an asset event on it.
        Without it, each landing is one event on the destination asset ``s3://bucket/prefix``
        (objects in its extra; see :mod:`~airflow_provider_nanobanana.stores.operator_mixin`).
    :param s3_retry_seconds: how long uploads ride out an S3 outage (default 120; 0: no retries).
    :return: one dict per object: ``uri``, ``bucket``, ``key``, ``link``, ``size``, ``sha256``,
        ``content_type``, ``vendor``, ``job_id``, ``index``.
    """

    template_fields: Sequence[str] = (
        "jobs",
        "destination_uri",
        "conn_id",
        "s3_bucket",
        "s3_prefix",
        "key_template",
        "prompt",
        "aws_conn_id",
    )
    ui_color = "#ffe135"
    operator_extra_links = (NanoBananaImageLink(),)

    def __init__(
        self,
        *,
        jobs: Any,
        destination_uri: str | None = None,
        conn_id: str | None = None,
        s3_bucket: str | None = None,
        s3_prefix: str = "nanobanana",
        key_template: str = DEFAULT_KEY_TEMPLATE,
        aws_conn_id: str | None = "aws_default",
        prompt: str | None = None,
        include_prompt: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
        storage_class: str | None = None,
        extra_args: dict[str, Any] | None = None,
        max_concurrency: int = 4,
        asset_alias: str | None = None,
        s3_retry_seconds: float = DEFAULT_S3_RETRY_SECONDS,
        **kwargs: Any,
    ) -> None:
        # As written, before Jinja renders it: the asset's name.
        if destination_uri is not None:
            template, given = destination_uri, {"uri": destination_uri}
        else:
            template, given = s3_prefix, {"bucket": s3_bucket, "prefix": s3_prefix}
        declared = declarable_destination(given, template, kwargs.get("outlets"))
        kwargs["outlets"] = landing_outlets(kwargs.get("outlets"), asset_alias, declared)
        super().__init__(**kwargs)
        self.destination_template = template
        self.declared_destination = declared
        self.jobs = jobs
        self.destination_uri = destination_uri
        self.conn_id = conn_id
        self.s3_bucket = s3_bucket
        self.s3_prefix = s3_prefix
        self.key_template = key_template
        self.aws_conn_id = aws_conn_id
        self.prompt = prompt
        self.include_prompt = include_prompt
        self.encrypt = encrypt
        self.acl_policy = acl_policy
        self.storage_class = storage_class
        self.extra_args = extra_args or {}
        self.max_concurrency = max_concurrency
        self.asset_alias = asset_alias
        self.s3_retry_seconds = s3_retry_seconds

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_nanobanana.exceptions import NanoBananaMissingImagesError
        from airflow_provider_nanobanana.stores.destination import Destination
        from airflow_provider_nanobanana.stores.landing import as_job_list
        from airflow_provider_nanobanana.transfers.upstream import unsuccessful_upstream

        if (self.destination_uri is None) == (self.s3_bucket is None):
            from airflow_provider_nanobanana.validation import invalid

            raise invalid(
                "destination_uri", self.destination_uri, "either destination_uri or s3_bucket, one of the two"
            )
        destination = Destination(
            uri=self.destination_uri,
            conn_id=self.conn_id,
            bucket=self.s3_bucket,
            prefix=self.s3_prefix,
            key_template=self.key_template,
            aws_conn_id=self.aws_conn_id,
            encrypt=self.encrypt,
            acl_policy=self.acl_policy,
            storage_class=self.storage_class,
            extra_args=self.extra_args,
            include_prompt=self.include_prompt,
            max_concurrency=self.max_concurrency,
            asset_alias=self.asset_alias,
            s3_retry_seconds=self.s3_retry_seconds,
        ).checked()
        self.check_bucket(destination)  # a typo fails here, without retries, before any download
        landed = self.land_images(
            context,
            as_job_list(self.jobs),
            destination,
            prompt=self.prompt,
            prefix_template=self.destination_template,
        )
        if missing := unsuccessful_upstream(context, self.upstream_task_ids):
            raise NanoBananaMissingImagesError(
                f"Landed {wording.plural(len(landed), 'image')}; the images of "
                f"{wording.plural(len(missing), 'upstream task instance')} never arrived, since they "
                f"did not succeed: {', '.join(missing)}.\nClear those, then this task."
            )
        return landed
