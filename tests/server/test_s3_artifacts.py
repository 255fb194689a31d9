"""Artifacts on S3 (a real moto server): through a windlass server, and used directly."""

from __future__ import annotations

from pathlib import Path

import pytest

import windlass
from windlass.ids import new_id
from windlass_testing import S3_BUCKET, ServerProcess


def _log_and_fetch(tmp_path: Path) -> None:
    windlass.set_project(f"s3-{new_id()[-8:]}")
    big = tmp_path / "weights.bin"
    with big.open("wb") as handle:
        for i in range(24):  # 24 MiB: several multipart parts
            handle.write(bytes([i]) * (1024 * 1024))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "conf.json").write_text('{"layers": 3}')
    with windlass.start_run() as run:
        windlass.log_artifact(big, artifact_path="model")
        windlass.log_artifact(tmp_path / "model")
    out = windlass.download_artifacts(run.id, "", tmp_path / "back")
    assert (out / "model" / "weights.bin").read_bytes() == big.read_bytes()
    assert (out / "model" / "conf.json").read_text() == '{"layers": 3}'


def test_server_with_s3_artifacts(
    s3_root: str, tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    server = server_factory(artifacts=s3_root)
    windlass.set_tracking_uri(server.url)
    try:
        _log_and_fetch(tmp_path)
    finally:
        windlass.set_tracking_uri(None)
    _assert_blobs_in_bucket(s3_root)


def _assert_blobs_in_bucket(s3_root: str) -> None:
    import os

    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["WINDLASS_S3_ENDPOINT_URL"])
    prefix = s3_root.removeprefix(f"s3://{S3_BUCKET}/")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix)["Contents"]]
    client.close()
    assert len([k for k in keys if "/blobs/" in k]) == 2  # two distinct files, no temp left
    assert not [k for k in keys if "/tmp/" in k]


def test_direct_store_with_s3_artifacts(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", s3_root)
    windlass.set_tracking_uri(f"sqlite:///{tmp_path / 'direct.db'}")
    try:
        _log_and_fetch(tmp_path)
    finally:
        windlass.set_tracking_uri(None)
    _assert_blobs_in_bucket(s3_root)
