"""Edit or combine input images following a prompt."""

from __future__ import annotations

from airflow_provider_nanobanana.jobs import JobKind
from airflow_provider_nanobanana.operators.image_job import NanoBananaImageJobOperator


class NanoBananaEditImageOperator(NanoBananaImageJobOperator):
    """Edit one or more input images (ModelsLab ``multi_ref`` / v7 ``image-to-image``, AceData ``edit``).

    ``images`` is required. See
    :class:`~airflow_provider_nanobanana.operators.image_job.NanoBananaImageJobOperator`.
    """

    kind = JobKind.EDIT
