"""A real S3 HTTP endpoint on loopback (moto in server mode), for tests, the demo and benchmarks.

The transfer talks to it exactly as to AWS: ``S3Hook``, boto3, SigV4, multipart uploads. Needs
``moto[server]`` (the ``dev`` extra); it is imported only when a :class:`LocalS3` starts.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

REGION = "us-east-1"
# moto accepts any credentials; these only have to look like keys.
ACCESS_KEY = "nanobanana-local"
SECRET_KEY = "nanobanana-local-secret"


class LocalS3:
    """Start with ``with LocalS3(buckets=["images"]) as s3:``; ``s3.endpoint_url`` is the server."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, buckets: tuple[str, ...] = ()) -> None:
        self.host = host
        self.port = port
        self.buckets = buckets
        self._server: Any = None
        self._started = False

    def start(self) -> LocalS3:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per S3 request
        restart = self.port != 0 and self._started
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        if not restart:  # moto keeps its buckets in this process, across a restart
            for bucket in self.buckets:
                self.create_bucket(bucket)
        self._started = True
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def outage(self, seconds: float) -> threading.Thread:
        """Stop serving now and serve again, on the same port and with the same objects, after
        ``seconds``: an S3 outage for fault tests. Join the returned thread to wait for the end."""
        self._server.stop()
        self._server = None

        def come_back() -> None:
            threading.Event().wait(seconds)
            self.start()

        thread = threading.Thread(target=come_back, name="local-s3-outage", daemon=True)
        thread.start()
        return thread

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)

    def connection_json(self) -> str:
        """An Airflow ``aws`` connection (for ``AIRFLOW_CONN_AWS_DEFAULT``) pointing here."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION},
            }
        )


EXAMPLE_BUCKET = "nanobanana-images"
# The input images example_edit.py reads, drawn like the emulator's own images.
EXAMPLE_INPUTS = {"inputs/bananas.png": "A bunch of ripe bananas", "inputs/cat.png": "A white siamese cat"}


# The catalogue example_catalogue_batch.py reads: a product per row.
EXAMPLE_CATALOGUE_KEY = "catalogue/products.csv"
EXAMPLE_CATALOGUE = "sku,prompt,aspect_ratio\n" + "".join(
    f"SKU-{number:03d},{product} on a white background; studio product photo,1:1\n"
    for number, product in enumerate(
        (
            "A banana-yellow ceramic mug",
            "A pair of canvas sneakers",
            "A walnut desk lamp",
            "A linen tote bag",
            "A glass teapot",
            "A wool beanie",
            "A copper watering can",
            "A leather notebook",
        ),
        start=1,
    )
)


def example_keys() -> list[str]:
    """The objects :func:`seed_example_bucket` puts in the example bucket."""
    return [*EXAMPLE_INPUTS, EXAMPLE_CATALOGUE_KEY]


def seed_example_bucket(s3: LocalS3) -> None:
    """Create the bucket the example DAGs use and put the edit example's input images and the
    catalogue example's CSV in it."""
    from airflow_provider_nanobanana.emulator.images import ImageSpec, render

    client = s3.client()
    client.create_bucket(Bucket=EXAMPLE_BUCKET)
    # Anyone on this machine may read it, so a task's "Nano Banana image" link (the object on
    # this endpoint) opens in a browser, which sends no S3 signature. Loopback only.
    readable = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    policy = {
        "Version": "2012-10-17",
        "Statement": [{**readable, "Resource": f"arn:aws:s3:::{EXAMPLE_BUCKET}/*"}],
    }
    client.put_bucket_policy(Bucket=EXAMPLE_BUCKET, Policy=json.dumps(policy))
    for key, prompt in EXAMPLE_INPUTS.items():
        picture = render(ImageSpec("input", prompt, 1024, 1024, 0, 1, 0), "png")
        client.put_object(Bucket=EXAMPLE_BUCKET, Key=key, Body=picture, ContentType="image/png")
    client.put_object(
        Bucket=EXAMPLE_BUCKET,
        Key=EXAMPLE_CATALOGUE_KEY,
        Body=EXAMPLE_CATALOGUE.encode(),
        ContentType="text/csv",
    )
