"""Image to image: a prompt applied to one reference image, with ModelsLab's noise and aspect controls."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind
from airflow_provider_nanobanana.operators.image_job import NanoBananaImageJobOperator


class NanoBananaImageToImageOperator(NanoBananaImageJobOperator):
    """Transform a reference image (ModelsLab ``img2img`` / v7 ``image-to-image``, AceData ``edit``).

    The typed controls below exist on the ModelsLab enterprise server only; set on an AceData
    connection they fail the task before any request.

    :param noise_scale_start: ModelsLab starting noise scale (vendor default 7.5).
    :param noise_scale_end: ModelsLab ending noise scale (vendor default 7.5).
    :param noise_clip_std: ModelsLab noise clip standard deviation (vendor default 2.5).
    :param keep_original_aspect: ModelsLab: keep the reference image's aspect ratio.

    See :class:`~airflow_provider_nanobanana.operators.image_job.NanoBananaImageJobOperator` for the rest.
    """

    kind = JobKind.IMG2IMG

    def __init__(
        self,
        *,
        noise_scale_start: float | None = None,
        noise_scale_end: float | None = None,
        noise_clip_std: float | None = None,
        keep_original_aspect: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.noise_controls = {
            "noise_scale_start": noise_scale_start,
            "noise_scale_end": noise_scale_end,
            "noise_clip_std": noise_clip_std,
            "keep_original_aspect": keep_original_aspect,
        }

    def job_request(self) -> ImageJobRequest:
        request = super().job_request()
        controls = {name: value for name, value in self.noise_controls.items() if value is not None}
        return replace(request, options={**request.options, **controls})
