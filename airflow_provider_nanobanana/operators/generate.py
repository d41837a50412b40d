"""Text to image."""

from __future__ import annotations

from airflow_provider_nanobanana.jobs import JobKind
from airflow_provider_nanobanana.operators.image_job import NanoBananaImageJobOperator


class NanoBananaGenerateImageOperator(NanoBananaImageJobOperator):
    """Generate images from a prompt (ModelsLab ``text2img`` / v7 ``text-to-image``, AceData ``generate``).

    See :class:`~airflow_provider_nanobanana.operators.image_job.NanoBananaImageJobOperator` for the
    parameters, the waiting modes and the returned summary.
    """

    kind = JobKind.GENERATE
