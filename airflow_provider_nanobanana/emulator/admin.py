"""``/_emulator/*``: the Python API over HTTP, for tests that run in another process than the server.

Bad input answers 400 ``{"error": "..."}`` with the validation message of the settings or fault
dataclass, so a typo in a fault spec sent by a remote test is as loud as one made in-process; a
refused fault also gets ``"fields"``, what each field takes.
"""

from __future__ import annotations

from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.settings import Fault
from airflow_provider_nanobanana.emulator.wire import Reply, Request, Route, json_reply

PREFIX = "/_emulator"


def _health(request: Request, runtime: Runtime) -> Reply:
    return json_reply({"status": "ok"})


def _counters(request: Request, runtime: Runtime) -> Reply:
    return json_reply(runtime.counters())


def _jobs(request: Request, runtime: Runtime) -> Reply:
    return json_reply({"jobs": runtime.timeline()})


def _list_faults(request: Request, runtime: Runtime) -> Reply:
    return json_reply({"faults": runtime.faults.armed()})


def _add_fault(request: Request, runtime: Runtime) -> Reply:
    body = request.json_object()
    guide = Fault.field_guide()
    if body is None:
        return _bad_request("the body must be a JSON object of fault fields", fields=guide)
    problems = []
    if unknown := sorted(set(body) - set(guide)):
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    if missing := [name for name in ("vendor", "endpoint", "kind") if name not in body]:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if problems:
        return _bad_request("; ".join(problems), fields=guide)
    try:
        runtime.add_fault(Fault(**body))
    except ValueError as error:
        return _bad_request(str(error), fields=guide)
    return json_reply({"faults": runtime.faults.armed()}, 201)


def _clear_faults(request: Request, runtime: Runtime) -> Reply:
    runtime.clear_faults()
    return json_reply({"faults": []})


def _show_settings(request: Request, runtime: Runtime) -> Reply:
    return json_reply(runtime.settings.to_dict())


def _change_settings(request: Request, runtime: Runtime) -> Reply:
    body = request.json_object()
    if body is None:
        return _bad_request("the body must be a JSON object of settings fields")
    try:
        settings = runtime.configure(**body)
    except (TypeError, ValueError) as error:
        return _bad_request(str(error))
    return json_reply(settings.to_dict())


def _reset(request: Request, runtime: Runtime) -> Reply:
    runtime.reset()
    return json_reply({"status": "ok"})


def _bad_request(message: str, **detail: object) -> Reply:
    return json_reply({"error": message, **detail}, 400)


ROUTES = (
    Route("GET", f"{PREFIX}/health", _health),
    Route("GET", f"{PREFIX}/counters", _counters),
    Route("GET", f"{PREFIX}/jobs", _jobs),
    Route("GET", f"{PREFIX}/faults", _list_faults),
    Route("POST", f"{PREFIX}/faults", _add_fault),
    Route("DELETE", f"{PREFIX}/faults", _clear_faults),
    Route("GET", f"{PREFIX}/settings", _show_settings),
    Route("PATCH", f"{PREFIX}/settings", _change_settings),
    Route("POST", f"{PREFIX}/reset", _reset),
)
