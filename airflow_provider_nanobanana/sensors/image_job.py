"""Wait for a job that is already submitted: the submit → sensor → transfer shape.

A sensor never submits, so it is idempotent across retries by construction. It pokes in a worker
(``mode="poke"`` or ``"reschedule"``) or defers to the same trigger the operators use.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
)

from airflow_provider_nanobanana.airflow_lookups import default_deferrable
from airflow_provider_nanobanana.links import NanoBananaImageLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class NanoBananaJobSensor(BaseSensorOperator):
    """Succeed when a Nano Banana job has its images; return the same summary as the operators.

    :param conn_id: the connection the job was submitted through (templated).
    :param job_id: the vendor's job id, e.g. ``"{{ ti.xcom_pull('submit')['job_id'] }}"`` (templated).
    :param requested_count: images asked for, to catch partial deliveries when the vendor does not
        report it (AceData does; for ModelsLab pass the submitting task's ``count``).
    :param fail_on_partial: fail when fewer images than requested arrived.
    :param deferrable: wait in the triggerer; default from ``[operators] default_deferrable``.

    ``poke_interval`` is the poll interval when the vendor gives no ``eta``; ``timeout`` ends the
    wait with Airflow's ``AirflowSensorTimeout`` (so ``soft_fail`` skips instead).
    """

    template_fields: Sequence[str] = ("conn_id", "job_id")
    operator_extra_links = (NanoBananaImageLink(),)

    def __init__(
        self,
        *,
        conn_id: str,
        job_id: str,
        requested_count: int | None = None,
        fail_on_partial: bool = True,
        deferrable: bool | None = None,
        poke_interval: float = 5.0,
        timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.conn_id = conn_id
        self.job_id = job_id
        self.requested_count = requested_count
        self.fail_on_partial = fail_on_partial
        self.deferrable = default_deferrable(deferrable)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow_provider_nanobanana.hooks.registry import hook_for_connection
        from airflow_provider_nanobanana.jobs import JobState
        from airflow_provider_nanobanana.polling import TRANSIENT_POLL_ERRORS, job_failed_error

        with hook_for_connection(self.conn_id) as hook:
            try:
                result = hook.get_job(self.job_id)
            except TRANSIENT_POLL_ERRORS as error:
                # The job is paid for and running: an outage is waited out until the sensor's timeout.
                self.log.warning(
                    "%s did not answer the poll of job %s: %s", hook.vendor_label, self.job_id, error
                )
                return False
        if result.state is JobState.FAILED:
            raise job_failed_error(result)
        if result.state is JobState.PENDING:
            eta = f", eta {result.eta_seconds:.0f}s" if result.eta_seconds is not None else ""
            self.log.info("%s job %s pending%s.", hook.vendor_label, self.job_id, eta)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._summary(result))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_nanobanana.hooks.registry import hook_for_connection
        from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

        done = self.poke(context)  # a job that is already finished needs no triggerer round trip
        if done:
            return done.xcom_value
        vendor = hook_for_connection(self.conn_id).vendor.value
        self.defer(
            trigger=NanoBananaJobTrigger(
                vendor=vendor,
                conn_id=self.conn_id,
                job_ids=[str(self.job_id)],
                end_time=time.time() + self.timeout,
                poll_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_nanobanana.events import results_from_event
        from airflow_provider_nanobanana.exceptions import NanoBananaTimeoutError

        try:
            (result,) = results_from_event(event)
        except NanoBananaTimeoutError as error:
            raise AirflowSensorTimeout(str(error)) from error
        return self._summary(result)

    def _summary(self, result: Any) -> dict[str, Any]:
        from airflow_provider_nanobanana.summary import check_delivery, summarize

        summary = summarize(result, conn_id=self.conn_id, requested_count=self.requested_count)
        check_delivery(summary, fail_on_partial=self.fail_on_partial)
        return summary
