"""What both vendor hooks share: connection settings, pooled httpx clients, retries, key hygiene.

Each vendor hook only says how to authenticate a request, how to read an error out of an answer
and how to map the job model onto its endpoints. Sync and async calls run the same
``_prepare`` / ``_read`` steps and differ only in how they wait, so they cannot drift apart.
``_read`` is also the one door vendor text comes in by: the key is scrubbed from the decoded
answer there, so no error message, job result, trigger event or XCom built from it can hold it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_nanobanana import __version__, wording
from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaError,
    NanoBananaJobNotFoundError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.hooks.retry import RetryPolicy
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobState, Vendor
from airflow_provider_nanobanana.polling import (
    TRANSIENT_POLL_ERRORS,
    VendorOutage,
    WaitProgress,
    job_failed_error,
    next_poll_delay,
)
from airflow_provider_nanobanana.request_logging import quiet_request_lines
from airflow_provider_nanobanana.spend.prices import BilledAs, Price, parse_prices, price_of
from airflow_provider_nanobanana.validation import invalid, is_stored

USER_AGENT = f"airflow-provider-nanobanana/{__version__}"
# Jobs asked about at once by get_jobs where the vendor has no batch status endpoint.
_POLL_THREADS = 8
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
_SCRUBBED = "***"
# A lost creation is searched for until this long after its read timeout, every few seconds.
IN_FLIGHT_MARGIN = 30.0
SEARCH_PAUSE = 5.0


class ApiKey:
    """An API key that cannot leak by accident: its str and repr are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ApiKey('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class ConnectionSettings:
    """The parts of an Airflow connection a hook uses, read once per hook."""

    base_url: str
    api_key: ApiKey
    timeout: float
    max_retries: int
    extras: dict[str, Any]


@dataclass(frozen=True)
class ApiCall:
    """One HTTP request to a vendor. ``is_submission`` marks calls that create (and bill) a job.

    ``read_timeout`` overrides the connection's timeout for calls the vendor documents as slow
    (AceData's sync mode answers only once the images exist): timing out there would leave a
    paid job's fate unknown. ``content`` (bytes or a seekable file) is sent instead of the JSON
    ``body``, with ``headers``, for uploads.
    """

    endpoint: str
    path: str
    body: dict[str, Any]
    is_submission: bool = False
    read_timeout: float | None = None
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    content: Any = None


class NanoBananaBaseHook(BaseHook):
    """Connection handling, transport and retries common to the ModelsLab and AceData hooks.

    :param conn_id: Airflow connection id; defaults to the vendor's ``*_default``.
    :param timeout: per-request timeout in seconds; overrides the connection's ``timeout`` extra.
    :param max_retries: retries after the first attempt; overrides the ``max_retries`` extra.
    :param retry_delay: base of the exponential backoff in seconds.
    """

    conn_name_attr = "conn_id"
    vendor: ClassVar[Vendor]
    vendor_label: ClassVar[str]
    default_base_url: ClassVar[str]
    # Largest input image the vendor takes inline as a data URI; None if it only takes URLs.
    inline_image_limit: ClassVar[int | None] = None
    # How many jobs one status request can report on; above 1, triggers share batched polls.
    status_batch_size: ClassVar[int] = 1
    # Jobs a batch keeps in flight unless told otherwise: the vendor's smallest documented queue.
    default_max_in_flight: ClassVar[int] = 5
    # Whether the vendor lets us look up the job a submission with a lost answer created.
    can_find_lost_submissions: ClassVar[bool] = False
    # Whether answers carry the image bytes once (nothing can fetch them later): operators must
    # then land them in S3 within the task that asked.
    answers_inline_once: ClassVar[bool] = False
    # Whether a batch of items goes to the vendor as one bulk job (``submit_bulk``) rather than
    # one job per item.
    submits_in_bulk: ClassVar[bool] = False
    # The level of the line each accepted job logs: one job's log wants it; a batch of thousands
    # logs a line per step instead and sets DEBUG, leaving the per-job detail to its manifest.
    job_log_level: int = logging.INFO

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_delay: float = 1.0,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name
        self._timeout_override = timeout
        self._max_retries_override = max_retries
        self._retry_delay = retry_delay
        self._settings: ConnectionSettings | None = None
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection -------------------------------------------------------------------------

    @classmethod
    def extra(cls, extras: dict[str, Any], name: str) -> Any:
        """Read an extra saved either plainly or with the ``extra__<conn_type>__`` prefix of older UIs."""
        value = extras.get(name, extras.get(f"extra__{cls.conn_type}__{name}"))
        return None if value == "" else value

    def _settings_from(self, conn: Any, extras: dict[str, Any]) -> ConnectionSettings:
        if not conn.password:
            raise NanoBananaAuthenticationError(
                f"Connection {self.conn_id!r} has no API key: put it in the Password field.",
                vendor=self.vendor_label,
            )
        mask_secret(conn.password)
        host = (conn.host or "").strip()
        if host and "://" not in host:
            host = f"https://{host}"
        if host and conn.port and not urlsplit(host).port:
            host = f"{host.rstrip('/')}:{conn.port}"
        timeout = self._timeout_override or self.extra(extras, "timeout") or DEFAULT_TIMEOUT
        max_retries = self._max_retries_override
        if max_retries is None:
            max_retries = self.extra(extras, "max_retries")
        return ConnectionSettings(
            base_url=(host or self.default_base_url).rstrip("/"),
            api_key=ApiKey(conn.password),
            timeout=float(timeout),
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
            extras=extras,
        )

    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            conn = self.get_connection(self.conn_id)
            self._settings = self._settings_from(conn, conn.extra_dejson)
        return self._settings

    async def asettings(self) -> ConnectionSettings:
        """Like ``settings`` but safe on an event loop (triggers must not call ``get_connection``)."""
        if self._settings is None:
            conn = await get_async_connection(self.conn_id, hook=self)
            self._settings = self._settings_from(conn, await get_async_extra_dejson(conn))
        return self._settings

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.settings.max_retries, base_delay=self._retry_delay)

    # -- vendor-specific pieces -------------------------------------------------------------

    @abstractmethod
    def _authenticate(self, call: ApiCall, api_key: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the body and headers that carry the key for this vendor."""

    @abstractmethod
    def _raise_for_error(self, call: ApiCall, response: httpx.Response, body: Any) -> None:
        """Raise the typed error an answer stands for; return if it carries a usable result."""

    # -- transport --------------------------------------------------------------------------

    def _client_options(self, settings: ConnectionSettings) -> dict[str, Any]:
        quiet_request_lines()
        return {
            "base_url": settings.base_url,
            "timeout": settings.timeout,
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
            "limits": httpx.Limits(max_connections=20, max_keepalive_connections=10),
        }

    def _prepare(self, call: ApiCall, settings: ConnectionSettings) -> dict[str, Any]:
        if call.is_submission and (stored := _first_stored_reference(call.body)):
            raise invalid(
                "images",
                stored,
                "http(s) URLs or data URIs; operators turn stored inputs (s3://, gs://, ...) into them",
            )
        body, headers = self._authenticate(call, settings.api_key.reveal())
        prepared: dict[str, Any] = {
            "method": call.method,
            "url": call.path,
            "headers": {**call.headers, **headers},
        }
        if call.content is not None:
            if hasattr(call.content, "seek"):
                call.content.seek(0)  # a retried upload sends the file from its start again
            prepared["content"] = call.content
        elif call.method != "GET":
            prepared["json"] = body
        if call.read_timeout is not None:
            prepared["timeout"] = httpx.Timeout(
                settings.timeout, read=max(settings.timeout, call.read_timeout)
            )
        return prepared

    def _read(self, call: ApiCall, response: httpx.Response) -> dict[str, Any]:
        """Decode an answer, scrub the key from it, and raise the typed error it stands for."""
        try:
            body = self._scrubbed(response.json())
        except ValueError:
            body = None
        self._raise_for_error(call, response, body)
        if not isinstance(body, dict):
            message = (
                f"{self.vendor_label} {call.endpoint}: HTTP {response.status_code} with an unreadable body."
            )
            if call.is_submission:
                raise NanoBananaSubmissionUnknownError(
                    message + " The vendor may have accepted the job; it was not re-sent.",
                    vendor=self.vendor_label,
                    status_code=response.status_code,
                )
            raise NanoBananaServerError(message, vendor=self.vendor_label, status_code=response.status_code)
        return body

    def call(self, call: ApiCall, *, consume: Callable[[httpx.Response], Any] | None = None) -> Any:
        """Send ``call`` with retries and return the decoded JSON body.

        With ``consume``, a successful answer is handed over still streaming and ``consume``'s
        return value is returned: for answers too large to hold (images inline, result files).
        An error answer is read and raised as usual.
        """
        settings = self.settings
        if self._client is None:
            self._client = httpx.Client(**self._client_options(settings))
        attempt = 0
        while True:
            try:
                if consume is None:
                    return self._read(call, self._client.request(**self._prepare(call, settings)))
                with self._client.stream(**self._prepare(call, settings)) as response:
                    if response.is_success:
                        return consume(response)
                    response.read()
                    return self._read(call, response)
            except (httpx.TransportError, NanoBananaError) as error:
                delay = self._delay_or_raise(call, error, attempt)
            time.sleep(delay)
            attempt += 1

    async def acall(self, call: ApiCall) -> dict[str, Any]:
        """Async twin of :meth:`call`, for triggers and async tasks."""
        settings = await self.asettings()
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(**self._client_options(settings))
        attempt = 0
        while True:
            try:
                response = await self._async_client.request(**self._prepare(call, settings))
                return self._read(call, response)
            except (httpx.TransportError, NanoBananaError) as error:
                delay = self._delay_or_raise(call, error, attempt)
            await asyncio.sleep(delay)
            attempt += 1

    def _delay_or_raise(self, call: ApiCall, error: BaseException, attempt: int) -> float:
        delay = self.retry_policy.delay_before_retry(
            error,
            attempt=attempt,
            is_submission=call.is_submission,
            vendor=self.vendor_label,
            endpoint=call.endpoint,
        )
        self.log.warning(
            "%s %s failed (%s); retrying in %.1fs (attempt %d of %d).",
            self.vendor_label,
            call.endpoint,
            self.scrub(str(error) or type(error).__name__),
            delay,
            attempt + 2,
            self.retry_policy.max_retries + 1,
        )
        return delay

    def _search_until_settled(
        self, search: Callable[[], list[ImageJobResult]], *, sent_at: float, read_timeout: float, what: str
    ) -> list[ImageJobResult]:
        """What ``search`` finds of a creation whose answer was lost, searching again while the
        request may still be in flight (its read timeout, plus a margin, after ``sent_at``): a slow
        answer may still be creating the job, so an empty search proves nothing until then."""
        in_flight_until = sent_at + read_timeout + IN_FLIGHT_MARGIN
        while True:
            matches = search()
            if matches or time.time() >= in_flight_until:
                return matches
            self.log.info(
                "No %s %s sent at %s yet; it may still be in flight, so searching again until %s.",
                self.vendor_label,
                what,
                wording.utc(sent_at),
                wording.utc(in_flight_until),
            )
            time.sleep(min(SEARCH_PAUSE, max(0.0, in_flight_until - time.time())))

    def scrub(self, text: str) -> str:
        """Remove the API key from vendor text before it reaches a log line or an exception."""
        key = self._settings.api_key.reveal() if self._settings else None
        return text.replace(key, _SCRUBBED) if key else text

    def _scrubbed(self, value: Any) -> Any:
        """``value`` (decoded JSON) with the key removed from every string in it: vendors echo
        request fields, the key among them, in failure messages."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self._scrubbed(name): self._scrubbed(item) for name, item in value.items()}
        if isinstance(value, list):
            return [self._scrubbed(item) for item in value]
        return value

    # -- jobs -------------------------------------------------------------------------------

    @abstractmethod
    # -- what requests cost ------------------------------------------------------------------

    @abstractmethod
    def billed_as(self, request: ImageJobRequest, *, batch: bool = False) -> BilledAs:
        """What ``request`` is billed as (model, size, mode), defaults filled in as the vendor does."""

    @cached_property
    def prices(self) -> dict[str, float]:
        """The connection's ``prices`` extra: USD per image the account pays, by model."""
        return parse_prices(self.extra(self.settings.extras, "prices"))

    def unit_price(self, request: ImageJobRequest, *, batch: bool = False) -> Price:
        """The price of one image of ``request`` (``batch``: sent as part of a bulk job)."""
        return price_of(self.billed_as(request, batch=batch), self.prices, self.vendor.value)

    def validate(self, request: ImageJobRequest) -> None:
        """Raise ``NanoBananaInvalidRequestError`` if the vendor would refuse ``request``; send nothing."""

    def validate_batch(self, requests: Sequence[ImageJobRequest]) -> None:
        """Raise ``NanoBananaInvalidRequestError`` if the items cannot go together; each is valid."""

    @abstractmethod
    def submit(self, request: ImageJobRequest) -> ImageJobResult:
        """Submit a (paid) job; never re-sent unless the vendor cannot have accepted it."""

    def find_lost_submission(self, request: ImageJobRequest, *, sent_at: float) -> ImageJobResult | None:
        """The job a submission of ``request`` sent at ``sent_at`` created, or None if it created none.

        Only for hooks with ``can_find_lost_submissions``; called when an earlier try's answer was
        lost. Raise ``NanoBananaPossiblyBilledError`` when the vendor's answer cannot settle it.
        """
        raise NotImplementedError(f"{self.vendor_label} offers no way to look up a lost submission")

    # -- bulk jobs (hooks with ``submits_in_bulk``) ---------------------------------------------

    def submit_bulk(self, items: Sequence[tuple[str, ImageJobRequest]], display_name: str) -> ImageJobResult:
        """Submit ``items`` (user key, request) as one (paid, non-idempotent) bulk job."""
        raise NotImplementedError(f"{self.vendor_label} takes no bulk jobs")

    def find_bulk(self, display_name: str, *, sent_at: float) -> ImageJobResult | None:
        """The bulk job a submission named ``display_name`` created, or None if it created none."""
        raise NotImplementedError(f"{self.vendor_label} takes no bulk jobs")

    def bulk_item_id(self, bulk_id: str, key: str) -> str:
        """The job id of one item of a bulk job: one path segment, unique in the bulk job."""
        raise NotImplementedError(f"{self.vendor_label} takes no bulk jobs")

    def read_bulk_results(
        self,
        bulk: ImageJobResult,
        keys: Sequence[str],
        on_item: Callable[[str, ImageJobResult | NanoBananaError], None],
    ) -> int:
        """Stream a succeeded bulk job's results to ``on_item``; return how many were read."""
        raise NotImplementedError(f"{self.vendor_label} takes no bulk jobs")

    @abstractmethod
    def get_job(self, job_id: str) -> ImageJobResult:
        """Ask the vendor where a job stands."""

    @abstractmethod
    async def aget_job(self, job_id: str) -> ImageJobResult:
        """Async twin of :meth:`get_job`."""

    def get_jobs(self, job_ids: Sequence[str]) -> dict[str, ImageJobResult]:
        """Where several jobs stand, by id; ids the vendor does not know are absent.

        Without a batch endpoint each job is asked about on its own, a few at a time over the
        pooled connections; vendors with one override this.
        """

        def ask(job_id: str) -> ImageJobResult | None:
            try:
                return self.get_job(job_id)
            except NanoBananaJobNotFoundError:
                return None

        with ThreadPoolExecutor(max_workers=max(1, min(_POLL_THREADS, len(job_ids)))) as pool:
            answers = zip(job_ids, pool.map(ask, job_ids), strict=True)
            return {job_id: result for job_id, result in answers if result is not None}

    async def aget_jobs(self, job_ids: Sequence[str]) -> dict[str, ImageJobResult]:
        """Where several jobs stand, by id; ids the vendor does not know are absent or raise.

        Without a batch endpoint each job is asked about on its own, concurrently over the
        pooled connections; vendors with one override this.
        """
        results = await asyncio.gather(*(self.aget_job(job_id) for job_id in job_ids))
        return {result.job_id: result for result in results}

    def wait_for_job(
        self, job_id: str, *, poll_interval: float = 5.0, timeout: float = 600.0
    ) -> ImageJobResult:
        """Block until the job succeeds; raise ``NanoBananaJobFailedError`` or ``NanoBananaTimeoutError``.

        This is the worker-slot-holding path; deferrable operators wait in a trigger instead,
        with the same poll schedule, the same outage handling and the same errors. A vendor that
        cannot be reached is polled on, with growing pauses, until the deadline: the job is paid
        for and still running there.
        """
        deadline = time.monotonic() + timeout
        outage = VendorOutage(self.vendor_label, poll_interval)
        progress = WaitProgress(self.vendor_label, [job_id], time.time() + timeout)
        while True:
            try:
                result = self.get_job(job_id)
            except TRANSIENT_POLL_ERRORS as error:
                delay = outage.failed(error, self.log)
            else:
                outage.recovered(self.log)
                progress.polls += 1
                if result.state is JobState.SUCCEEDED:
                    progress.finished("succeeded", self.log)
                    return result
                if result.state is JobState.FAILED:
                    progress.finished("failed", self.log)
                    raise job_failed_error(result)
                delay = next_poll_delay(result, poll_interval, progress.polls)
                progress.report([result], min(delay, max(0.0, deadline - time.monotonic())), self.log)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                progress.finished("timed out", self.log)
                raise NanoBananaTimeoutError(
                    f"{self.vendor_label} job {job_id} still pending after {timeout:.0f}s "
                    f"({progress.polls} polls){outage.describe()}.",
                    vendor=self.vendor_label,
                )
            time.sleep(min(delay, remaining))

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None
        self.close()

    def __enter__(self) -> NanoBananaBaseHook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> NanoBananaBaseHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- connection UI and test -------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the key with a free status call; never raises, never pays for an image."""
        try:
            return True, self._check_key()
        except Exception as error:
            return False, self.scrub(f"{type(error).__name__}: {error}")
        finally:
            self.close()

    @abstractmethod
    def _check_key(self) -> str:
        """Make one unbilled authenticated call; return a success message or raise."""


def _first_stored_reference(value: Any) -> str | None:
    """The first stored object's URI (``s3://``, ``gs://``, ...) anywhere in a request body:
    vendors cannot read those."""
    if isinstance(value, str):
        return value if is_stored(value) else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((found for item in items if (found := _first_stored_reference(item))), None)
