"""The vendor-neutral job model every layer above the hooks speaks.

A DAG asks for an :class:`ImageJobRequest`; a hook turns it into the vendor's wire format and turns
every vendor answer (submit reply, poll reply, webhook) into an :class:`ImageJobResult`. Both are
plain frozen dataclasses with ``to_dict``/``from_dict`` so they cross XCom and trigger
serialization as JSON, and neither ever holds an API key.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from airflow_provider_nanobanana.validation import check_options


class Vendor(str, enum.Enum):
    MODELSLAB = "modelslab"
    ACEDATA = "acedata"
    GEMINI = "gemini"


class JobKind(str, enum.Enum):
    """What the user wants done; each hook maps a kind onto the vendor endpoint that does it."""

    GENERATE = "generate"
    EDIT = "edit"
    IMG2IMG = "img2img"


class JobState(str, enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self is not JobState.PENDING


@dataclass(frozen=True)
class ImageJobRequest:
    """One generation job, described without reference to any vendor.

    Fields a vendor has no use for must stay ``None``; the hook rejects them by name rather than
    silently dropping them, so moving a DAG between vendors never changes its output unnoticed.
    ``options`` holds vendor-specific settings (ModelsLab noise controls, AceData callback mode, ...)
    which the hook validates against its own documented list.
    """

    kind: JobKind
    prompt: str
    images: tuple[str, ...] = ()
    model: str | None = None
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    count: int | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def image_count(self) -> int:
        """The images this request asks for (one unless ``count`` says more, at every vendor)."""
        return self.count or 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", JobKind(self.kind))
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "options", check_options(self.options))


@dataclass(frozen=True)
class ImageOutput:
    """One produced image: a URL to download, or bytes the vendor returned inline.

    Inline bytes come as base64 text (ModelsLab), or already decoded into ``spool``, a temporary
    file (Gemini, whose answers are read as they stream: ``hooks/gemini_stream.py``).
    A spool lives only in the process that read the answer and is never serialized. ``inline``
    stays true when the payload itself is left out (``to_dict(with_payload=False)``), so XCom and
    trigger events can say "this image came inline" without carrying bytes.
    """

    url: str | None = None
    base64_data: str | None = None
    inline: bool = False
    spool: IO[bytes] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base64_data is not None or self.spool is not None:
            object.__setattr__(self, "inline", True)

    def to_dict(self, *, with_payload: bool = True) -> dict[str, Any]:
        if self.inline:
            return {"inline": True, **({"base64_data": self.base64_data} if with_payload else {})}
        return {"url": self.url}


@dataclass(frozen=True)
class ImageJobResult:
    """Where a job stands, as any vendor reported it.

    ``images`` keeps the vendor's order. ``eta_seconds`` is the vendor's own estimate while
    pending. ``error_code``/``error_message`` are set when the job failed. ``metadata`` keeps the
    vendor fields worth showing a person (seed, size, generation time, trace id), never secrets.
    """

    vendor: Vendor
    job_id: str
    state: JobState
    images: tuple[ImageOutput, ...] = ()
    eta_seconds: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vendor", Vendor(self.vendor))
        object.__setattr__(self, "state", JobState(self.state))
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "metadata", dict(self.metadata))

    def to_dict(self, *, with_payloads: bool = True) -> dict[str, Any]:
        """JSON-safe form; ``with_payloads=False`` drops inline image bytes (for events and XCom)."""
        return {
            "vendor": self.vendor.value,
            "job_id": self.job_id,
            "state": self.state.value,
            "images": [image.to_dict(with_payload=with_payloads) for image in self.images],
            "eta_seconds": self.eta_seconds,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageJobResult:
        return cls(
            vendor=data["vendor"],
            job_id=data["job_id"],
            state=data["state"],
            images=tuple(ImageOutput(**image) for image in data.get("images", ())),
            eta_seconds=data.get("eta_seconds"),
            error_code=data.get("error_code"),
            error_message=data.get("error_message"),
            metadata=data.get("metadata", {}),
        )
