"""The vendors' image CDNs: GET (or HEAD) of the URLs that jobs hand out.

Downloads fail in their own ways, so the file faults live here: an expired link (404), a body cut
short after a full Content-Length (``truncated``), and an HTML error page labelled ``image/png``
(``not_image``), as CDNs serve them: only the body's magic bytes tell. The extension picks the
encoding: ``.png``, ``.jpg``/``.jpeg``, or ``.base64`` (base64 text of the image in the format its
job announced, for ModelsLab's "url" base64 shape).
"""

from __future__ import annotations

import base64

from airflow_provider_nanobanana.emulator.faults import REQUEST_KINDS, common_reply
from airflow_provider_nanobanana.emulator.images import CONTENT_TYPES, EXTENSION_FORMATS, pad, render
from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.settings import ACEDATA, MODELSLAB, Fault
from airflow_provider_nanobanana.emulator.wire import Handler, Reply, Request, Route, retry_after

TEXT = "text/plain; charset=utf-8"
NOT_FOUND = Reply(404, b"Not Found", TEXT)


def _files(vendor: str, folder: str) -> Handler:
    def handle(request: Request, runtime: Runtime) -> Reply:
        fault = runtime.faults.take(vendor, "files", REQUEST_KINDS)
        if fault is not None and (reply := _fault_reply(fault)) is not None:
            return reply
        stem, _, extension = request.params["name"].rpartition(".")
        file = runtime.store.image(f"/{folder}/{stem}")
        if file is None or (extension != "base64" and extension not in EXTENSION_FORMATS):
            return NOT_FOUND
        padding = runtime.settings.image_padding_bytes
        if extension == "base64":
            body = base64.b64encode(pad(render(file.spec, file.image_format), file.image_format, padding))
            content_type = TEXT
        else:
            image_format = EXTENSION_FORMATS[extension]
            body = pad(render(file.spec, image_format), image_format, padding)
            content_type = CONTENT_TYPES[image_format]
        truncated = fault is not None and fault.kind == "truncated"
        return Reply(200, body, content_type, action="truncate" if truncated else "send")

    return handle


def _fault_reply(fault: Fault) -> Reply | None:
    """CDN-style failures: plain-text error pages rather than the vendor's JSON API errors."""
    if fault.kind == "rate_limit":
        return Reply(429, b"Too Many Requests", TEXT, (retry_after(fault.retry_after),))
    if fault.kind == "server_error":
        return Reply(fault.status or 500, b"Internal Server Error", TEXT)
    if fault.kind == "expired":
        return NOT_FOUND
    if fault.kind == "not_image":
        return Reply(200, b"<html>gone</html>", "image/png")
    return common_reply(fault)


ROUTES = (
    Route("GET", "/generations/(?P<name>[^/]+)", _files(MODELSLAB, "generations"), MODELSLAB, "files"),
    Route("GET", "/nanobanana/(?P<name>[^/]+)", _files(ACEDATA, "nanobanana"), ACEDATA, "files"),
)
