"""``nanobanana-emulator``: run the emulator in the foreground until SIGINT or SIGTERM.

Every line it prints is shell, flushed at once: ``# ...`` comments for people, then one
``export AIRFLOW_CONN_...='...'`` per vendor (ModelsLab, AceData, Google Gemini) and, with ``--s3``,
for the local S3 endpoint (moto) that runs beside it with the example DAGs' bucket. So
``nanobanana-emulator --s3 > emulator.env &`` then ``source emulator.env`` (or
``eval "$(cat emulator.env)"``) gives a shell the connections. The first line is always
``# Nano Banana emulator listening on <url>``, from which a script that passes ``--port 0`` reads
the chosen port. Both ports are fixed by default, so a restart keeps exported connections valid.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from types import FrameType

from airflow_provider_nanobanana.emulator.images import require_pillow
from airflow_provider_nanobanana.emulator.local_s3 import (
    EXAMPLE_BUCKET,
    LocalS3,
    example_keys,
    seed_example_bucket,
)
from airflow_provider_nanobanana.emulator.server import Emulator
from airflow_provider_nanobanana.emulator.settings import EmulatorSettings, parse_fault_spec

# Fixed, so a restarted emulator answers where the exported connections point.
DEFAULT_PORT, DEFAULT_S3_PORT = 8765, 8766


def build_parser() -> argparse.ArgumentParser:
    defaults = EmulatorSettings()
    parser = argparse.ArgumentParser(
        prog="nanobanana-emulator",
        description=(
            "Local emulator of the Nano Banana image APIs of ModelsLab, AceData Cloud and Google's "
            "Gemini API (generateContent, the Files API and Batch)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--processing-seconds",
        type=float,
        default=defaults.processing_seconds,
        help="how long a job stays processing (default: %(default)s)",
    )
    parser.add_argument(
        "--processing-seconds-max",
        type=float,
        help="draw each job's duration between --processing-seconds and this",
    )
    parser.add_argument(
        "--eta-noise",
        type=float,
        default=defaults.eta_noise,
        help="ModelsLab eta error, as a share of the true remaining time (default: %(default)s)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. modelslab:text2img:rate_limit:times=2,retry_after=1 (repeatable)",
    )
    parser.add_argument(
        "--modelslab-http-errors",
        action="store_true",
        help="send ModelsLab errors with their documented 4xx codes instead of HTTP 200",
    )
    parser.add_argument(
        "--modelslab-key", action="append", metavar="KEY", help="accepted ModelsLab key (repeatable)"
    )
    parser.add_argument(
        "--acedata-key", action="append", metavar="KEY", help="accepted AceData token (repeatable)"
    )
    parser.add_argument(
        "--gemini-key", action="append", metavar="KEY", help="accepted Gemini API key (repeatable)"
    )
    parser.add_argument(
        "--gemini-state-prefix",
        choices=("BATCH_STATE_", "JOB_STATE_"),
        default=defaults.gemini_state_prefix,
        help="how Gemini batch states are spelled: REST or SDK (default: %(default)s)",
    )
    parser.add_argument("--modelslab-queue-limit", type=int, help="ModelsLab queued jobs allowed per key")
    parser.add_argument(
        "--modelslab-base64-shape",
        choices=("raw", "url"),
        default=defaults.modelslab_base64_shape,
        help='output shape when base64 is "yes" (default: %(default)s)',
    )
    parser.add_argument("--image-format", choices=("png", "jpeg"), default=defaults.image_format)
    parser.add_argument(
        "--s3",
        action="store_true",
        help="also run a local S3 endpoint with the example bucket (needs moto[server])",
    )
    parser.add_argument(
        "--s3-port",
        type=int,
        default=DEFAULT_S3_PORT,
        help="port of the local S3 endpoint; 0 picks a free one (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    defaults = EmulatorSettings()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = EmulatorSettings(
            modelslab_keys=tuple(args.modelslab_key or defaults.modelslab_keys),
            acedata_tokens=tuple(args.acedata_key or defaults.acedata_tokens),
            gemini_keys=tuple(args.gemini_key or defaults.gemini_keys),
            gemini_state_prefix=args.gemini_state_prefix,
            processing_seconds=args.processing_seconds,
            processing_seconds_max=args.processing_seconds_max,
            eta_noise=args.eta_noise,
            modelslab_http_errors=args.modelslab_http_errors,
            modelslab_queue_limit=args.modelslab_queue_limit,
            modelslab_base64_shape=args.modelslab_base64_shape,
            image_format=args.image_format,
            faults=tuple(parse_fault_spec(spec) for spec in args.fault),
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        require_pillow()
    except RuntimeError as error:
        parser.exit(1, f"nanobanana-emulator: {error}\n")
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with ExitStack() as running:
        emulator = running.enter_context(Emulator(host=args.host, port=args.port, settings=settings))
        say(f"# Nano Banana emulator listening on {emulator.url}")
        say(f"# ModelsLab keys: {', '.join(settings.modelslab_keys)}")
        say(f"# AceData tokens: {', '.join(settings.acedata_tokens)}")
        say(f"# Gemini API keys: {', '.join(settings.gemini_keys)}")
        for fault in settings.faults:
            say(f"# Fault armed: {fault}")
        for vendor in ("modelslab", "acedata", "gemini"):
            say(export(f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT", emulator.connection_json(vendor)))
        if args.s3:
            s3 = _local_s3(parser, args.host, args.s3_port)
            running.callback(s3.stop)
            say(f"# Local S3 endpoint listening on {s3.endpoint_url}, bucket {EXAMPLE_BUCKET}:")
            for key in example_keys():
                say(f"#   {s3.endpoint_url}/{EXAMPLE_BUCKET}/{key}")
            say(export("AIRFLOW_CONN_AWS_DEFAULT", s3.connection_json()))
        while not stopping.wait(0.5):
            pass
    return 0


def say(line: str) -> None:
    print(line, flush=True)


def export(name: str, value: str) -> str:
    return f"export {name}={shlex.quote(value)}"


def _local_s3(parser: argparse.ArgumentParser, host: str, port: int) -> LocalS3:
    try:
        s3 = LocalS3(host=host, port=port).start()
    except ImportError:
        parser.exit(1, "nanobanana-emulator: --s3 needs moto's server: pip install 'moto[server]'\n")
    seed_example_bucket(s3)
    return s3
