"""What a trigger event means for the task that deferred: results, or the typed error to raise.

The operator and the sensor resume through this one function, so a job waited on in the triggerer
fails with exactly the exception the blocking path would have raised.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_nanobanana import exceptions
from airflow_provider_nanobanana.jobs import ImageJobResult
from airflow_provider_nanobanana.polling import job_failed_error


def results_from_event(event: dict[str, Any] | None) -> list[ImageJobResult]:
    if not event or "status" not in event:
        raise exceptions.NanoBananaError(f"Trigger returned no usable event: {event!r}")
    status = event["status"]
    if status == "success":
        return [ImageJobResult.from_dict(result) for result in event["results"]]
    if status == "failed":
        raise job_failed_error(ImageJobResult.from_dict(event["result"]))
    if status == "timeout":
        raise exceptions.NanoBananaTimeoutError(f"Jobs {event['job_ids']} timed out: {event['message']}.")
    if status == "error":
        error_class = getattr(exceptions, str(event.get("error_type")), None)
        if not (isinstance(error_class, type) and issubclass(error_class, exceptions.NanoBananaError)):
            error_class = exceptions.NanoBananaError
        kwargs: dict[str, Any] = {}
        if issubclass(error_class, exceptions.NanoBananaRateLimitError):
            kwargs["retry_after"] = event.get("retry_after")
        if issubclass(
            error_class, exceptions.NanoBananaJobNotFoundError | exceptions.NanoBananaJobFailedError
        ):
            kwargs["job_id"] = event.get("job_id")
        raise error_class(event["message"], **kwargs)
    raise exceptions.NanoBananaError(f"Trigger returned an unknown status {status!r}.")
