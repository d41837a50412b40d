"""What the emulator can be told: its settings, the faults it injects, and the CLI spelling of a fault.

Both dataclasses validate themselves on construction, so a typo in a test, a CLI flag or an admin
request fails loudly at the moment it is made instead of silently never matching a request.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

MODELSLAB = "modelslab"
ACEDATA = "acedata"
GEMINI = "gemini"
ANY = "*"
DEFAULT_MODELSLAB_KEY = "modelslab-test-key"
DEFAULT_ACEDATA_TOKEN = "acedata-test-key"
DEFAULT_GEMINI_KEY = "gemini-test-key"

MODELSLAB_GENERATION_ENDPOINTS = frozenset(
    {"text2img", "img2img", "multi_ref", "v7_text_to_image", "v7_image_to_image"}
)
MODELSLAB_ENDPOINTS = MODELSLAB_GENERATION_ENDPOINTS | {"fetch", "v7_fetch", "files"}
ACEDATA_ENDPOINTS = frozenset({"images", "tasks", "files"})
GEMINI_ENDPOINTS = frozenset({"generate", "models", "batches", "upload", "download"})
GENERATION_ENDPOINTS = MODELSLAB_GENERATION_ENDPOINTS | {"images", "generate", "batches"}
_VENDOR_ENDPOINTS = {MODELSLAB: MODELSLAB_ENDPOINTS, ACEDATA: ACEDATA_ENDPOINTS, GEMINI: GEMINI_ENDPOINTS}

# Which endpoints each fault kind can meaningfully hit; None means "any endpoint".
_KIND_ENDPOINTS: dict[str, frozenset[str] | None] = {
    "rate_limit": None,
    "server_error": None,
    "drop": None,
    "slow": None,
    "malformed": None,
    "server_error_with_task": frozenset({"images"}),
    "drop_after_accept": GENERATION_ENDPOINTS,
    "legacy": MODELSLAB_GENERATION_ENDPOINTS | {"fetch", "v7_fetch"},
    "job_fails": GENERATION_ENDPOINTS - {"generate"},
    "job_fails_echoing_key": GENERATION_ENDPOINTS - {"generate"},
    "moderation": GENERATION_ENDPOINTS,
    "quota": GENERATION_ENDPOINTS,
    "partial": frozenset({"images", "batches"}),
    "line_error": frozenset({"batches"}),
    "no_image": frozenset({"generate"}),
    "expired": frozenset({"files", "batches"}),
    "truncated": frozenset({"files", "download"}),
    "not_image": frozenset({"files"}),
}
FAULT_KINDS = frozenset(_KIND_ENDPOINTS)
_VENDOR_ONLY_KINDS = {
    "legacy": (MODELSLAB,),
    "server_error_with_task": (ACEDATA,),
    "partial": (ACEDATA, GEMINI),
    "line_error": (GEMINI,),
    "no_image": (GEMINI,),
}


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, matched against requests in the order faults were added.

    ``times`` is how many matching requests it hits (None: every one); ``retry_after`` feeds
    ``rate_limit``, ``status`` feeds ``server_error`` (default 500) and ``line_error`` (a gRPC code,
    default 13), and ``delay`` feeds ``slow``.
    """

    vendor: str
    endpoint: str
    kind: str
    times: int | None = 1
    retry_after: float = 1.0
    status: int | None = None
    delay: float = 1.0

    @classmethod
    def field_guide(cls) -> dict[str, str]:
        """What each field takes: the fault API sends it with every refused fault."""
        return {
            "vendor": "modelslab, acedata, gemini or * (required)",
            "endpoint": (
                f"modelslab: {', '.join(sorted(MODELSLAB_ENDPOINTS))}; "
                f"acedata: {', '.join(sorted(ACEDATA_ENDPOINTS))}; "
                f"gemini: {', '.join(sorted(GEMINI_ENDPOINTS))}; or * (required)"
            ),
            "kind": f"{', '.join(sorted(FAULT_KINDS))} (required)",
            "times": "matching requests it hits: a positive integer, or null for every one (default 1)",
            "retry_after": "seconds a rate_limit answer asks to wait (default 1.0)",
            "status": "the HTTP status of a server_error, 400-599 (default 500); the gRPC code of a "
            "line_error, 1-16 (default 13)",
            "delay": "seconds a slow answer is held back (default 1.0)",
        }

    def __post_init__(self) -> None:
        for name in ("vendor", "endpoint", "kind"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"fault {name} must be a string, not {getattr(self, name)!r}")
        for name in ("times", "status"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"fault {name} must be an integer or null, not {value!r}")
        for name in ("retry_after", "delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault {name} must be a number of seconds, not {value!r}")
        if self.vendor not in (*_VENDOR_ENDPOINTS, ANY):
            raise ValueError(f"fault vendor must be modelslab, acedata, gemini or *, not {self.vendor!r}")
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        vendor_endpoints = _VENDOR_ENDPOINTS.get(self.vendor, frozenset().union(*_VENDOR_ENDPOINTS.values()))
        if self.endpoint != ANY and self.endpoint not in vendor_endpoints:
            raise ValueError(f"unknown endpoint {self.endpoint!r} for vendor {self.vendor!r}")
        only_vendors = _VENDOR_ONLY_KINDS.get(self.kind)
        if only_vendors and self.vendor not in (*only_vendors, ANY):
            raise ValueError(f"fault kind {self.kind!r} exists only for {' and '.join(only_vendors)}")
        kind_endpoints = _KIND_ENDPOINTS[self.kind]
        if kind_endpoints is not None and self.endpoint not in kind_endpoints | {ANY}:
            raise ValueError(f"fault kind {self.kind!r} cannot hit endpoint {self.endpoint!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("fault times must be a positive integer or None (every request)")
        if self.retry_after < 0 or self.delay < 0:
            raise ValueError("fault retry_after and delay must not be negative")
        if self.status is not None and self.kind == "line_error" and not 1 <= self.status <= 16:
            raise ValueError("a line_error's status must be a gRPC code (1-16)")
        if self.status is not None and self.kind != "line_error" and not 400 <= self.status <= 599:
            raise ValueError("fault status must be an HTTP error status (400-599)")

    def matches(self, vendor: str, endpoint: str) -> bool:
        """True when this fault targets the request and its kind makes sense on that endpoint."""
        kind_endpoints = _KIND_ENDPOINTS[self.kind]
        return (
            self.vendor in (vendor, ANY)
            and self.endpoint in (endpoint, ANY)
            and (kind_endpoints is None or endpoint in kind_endpoints)
            and (self.kind not in _VENDOR_ONLY_KINDS or vendor in _VENDOR_ONLY_KINDS[self.kind])
        )


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulated vendors behave.

    - ``modelslab_keys`` / ``acedata_tokens`` / ``gemini_keys``: the credentials each vendor accepts.
    - ``processing_seconds``: how long a job stays processing; 0 makes ModelsLab answer
      ``success`` at once and AceData's sync calls return without waiting.
    - ``processing_seconds_max``: when set, each job draws its duration uniformly between
      ``processing_seconds`` and this, as real queues do (the waiting-at-scale benchmark).
    - ``eta_noise``: ModelsLab's ``eta`` is an estimate; each answer multiplies the true
      remaining time by a random factor within ±this share (0.25: ±25%) before rounding up.
    - ``modelslab_http_errors``: False sends auth/validation/refusal errors as HTTP 200 with
      ``status: "error"`` (what integrations widely report); True uses the documented 4xx codes.
    - ``modelslab_queue_limit``: per-key count of processing jobs beyond which ModelsLab says 429.
    - ``modelslab_base64_shape``: with ``base64: "yes"``, ``raw`` puts base64 text in ``output``
      and ``url`` links to ``.base64`` text files; the real shape is undocumented (A.7).
    - ``image_format``: ``png`` or ``jpeg``, the format of the image URLs jobs announce.
    - ``image_padding_bytes``: extra bytes in every served image file (a PNG ancillary chunk, or
      bytes after a JPEG's end), still a valid image: large bodies for transfer tests.
    - ``gemini_state_prefix``: how Gemini batch states are spelled, ``BATCH_STATE_`` (REST) or
      ``JOB_STATE_`` (the docs and SDKs); clients must read both.
    - ``faults``: faults armed at start-up (and re-armed by ``reset()``).
    """

    modelslab_keys: tuple[str, ...] = (DEFAULT_MODELSLAB_KEY,)
    acedata_tokens: tuple[str, ...] = (DEFAULT_ACEDATA_TOKEN,)
    gemini_keys: tuple[str, ...] = (DEFAULT_GEMINI_KEY,)
    processing_seconds: float = 2.0
    processing_seconds_max: float | None = None
    eta_noise: float = 0.0
    modelslab_http_errors: bool = False
    modelslab_queue_limit: int | None = None
    modelslab_base64_shape: str = "raw"
    image_format: str = "png"
    image_padding_bytes: int = 0
    gemini_state_prefix: str = "BATCH_STATE_"
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        # Admin requests arrive as JSON, so accept lists and plain dicts and normalise them here.
        object.__setattr__(self, "modelslab_keys", _strings("modelslab_keys", self.modelslab_keys))
        object.__setattr__(self, "acedata_tokens", _strings("acedata_tokens", self.acedata_tokens))
        object.__setattr__(self, "gemini_keys", _strings("gemini_keys", self.gemini_keys))
        object.__setattr__(
            self,
            "faults",
            tuple(fault if isinstance(fault, Fault) else Fault(**fault) for fault in self.faults),
        )
        if isinstance(self.processing_seconds, bool) or not isinstance(self.processing_seconds, int | float):
            raise ValueError("processing_seconds must be a number")
        if self.processing_seconds < 0:
            raise ValueError("processing_seconds must not be negative")
        longest = self.processing_seconds_max
        if longest is not None and (
            isinstance(longest, bool)
            or not isinstance(longest, int | float)
            or longest < self.processing_seconds
        ):
            raise ValueError("processing_seconds_max must be a number no smaller than processing_seconds")
        noise = self.eta_noise
        if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < 1:
            raise ValueError("eta_noise must be a number from 0 up to (not including) 1")
        if not isinstance(self.modelslab_http_errors, bool):
            raise ValueError("modelslab_http_errors must be a boolean")
        limit = self.modelslab_queue_limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError("modelslab_queue_limit must be a positive integer or None")
        if self.modelslab_base64_shape not in ("raw", "url"):
            raise ValueError('modelslab_base64_shape must be "raw" or "url"')
        if self.gemini_state_prefix not in ("BATCH_STATE_", "JOB_STATE_"):
            raise ValueError('gemini_state_prefix must be "BATCH_STATE_" or "JOB_STATE_"')
        if self.image_format not in ("png", "jpeg"):
            raise ValueError('image_format must be "png" or "jpeg"')
        padding = self.image_padding_bytes
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError("image_padding_bytes must be a non-negative integer")

    def draw_processing_seconds(self) -> float:
        """How long a new job will take."""
        if self.processing_seconds_max is None:
            return self.processing_seconds
        return random.uniform(self.processing_seconds, self.processing_seconds_max)

    def estimate(self, remaining: float) -> float:
        """A vendor's guess at ``remaining`` seconds: right on average, off by up to ``eta_noise``."""
        return remaining * random.uniform(1 - self.eta_noise, 1 + self.eta_noise)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, used by the admin API to show what is in force."""
        return asdict(self)


def _strings(name: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str) or not all(isinstance(value, str) for value in values):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(values)


def parse_fault_spec(spec: str) -> Fault:
    """Parse the CLI spelling ``vendor:endpoint:kind[:name=value,...]``.

    Example: ``modelslab:text2img:rate_limit:times=2,retry_after=1``. ``times=none`` means the
    fault hits every matching request.
    """
    parts = spec.split(":", 3)
    if len(parts) < 3:
        raise ValueError(f"fault spec {spec!r} must look like vendor:endpoint:kind[:name=value,...]")
    vendor, endpoint, kind = parts[:3]
    options: dict[str, Any] = {}
    for item in filter(None, parts[3].split(",") if len(parts) == 4 else []):
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"fault option {item!r} must look like name=value")
        options[name.strip()] = _option_value(name.strip(), raw.strip())
    return Fault(vendor=vendor, endpoint=endpoint, kind=kind, **options)


def _option_value(name: str, raw: str) -> int | float | None:
    if name in ("times", "status"):
        return None if raw.lower() == "none" else int(raw)
    if name in ("retry_after", "delay"):
        return float(raw)
    raise ValueError(f"unknown fault option {name!r}; known: times, retry_after, status, delay")
