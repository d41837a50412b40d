"""``nanobanana-emulator``: run the emulator in the foreground until SIGINT or SIGTERM.

The first output line is always ``Nano Banana emulator listening on <url>`` (flushed at once), so
a script or test that starts it with ``--port 0`` can read the chosen port from it. The
connections to give Airflow follow, one ``AIRFLOW_CONN_...`` line per vendor (ModelsLab, AceData,
Google Gemini), and with ``--s3`` a local S3 endpoint (moto) runs beside it, holding the example
DAGs' bucket and input images, with its connection line too.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from types import FrameType

from airflow_provider_nanobanana.emulator.images import require_pillow
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3, seed_example_bucket
from airflow_provider_nanobanana.emulator.server import Emulator
from airflow_provider_nanobanana.emulator.settings import EmulatorSettings, parse_fault_spec


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
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
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
        "--s3-port", type=int, default=0, help="port of the local S3 endpoint (default: free)"
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
        print(f"Nano Banana emulator listening on {emulator.url}", flush=True)
        print(f"ModelsLab keys: {', '.join(settings.modelslab_keys)}", flush=True)
        print(f"AceData tokens: {', '.join(settings.acedata_tokens)}", flush=True)
        print(f"Gemini API keys: {', '.join(settings.gemini_keys)}", flush=True)
        for fault in settings.faults:
            print(f"Fault armed: {fault}", flush=True)
        for vendor in ("modelslab", "acedata", "gemini"):
            conn = f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT"
            print(f"{conn}='{emulator.connection_json(vendor)}'", flush=True)
        if args.s3:
            s3 = _local_s3(parser, args.host, args.s3_port)
            running.callback(s3.stop)
            print(f"Local S3 endpoint listening on {s3.endpoint_url} (bucket {EXAMPLE_BUCKET})", flush=True)
            print(f"AIRFLOW_CONN_AWS_DEFAULT='{s3.connection_json()}'", flush=True)
        while not stopping.wait(0.5):
            pass
    return 0


def _local_s3(parser: argparse.ArgumentParser, host: str, port: int) -> LocalS3:
    try:
        s3 = LocalS3(host=host, port=port).start()
    except ImportError:
        parser.exit(1, "nanobanana-emulator: --s3 needs moto's server: pip install 'moto[server]'\n")
    seed_example_bucket(s3)
    return s3
