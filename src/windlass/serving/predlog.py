"""The prediction log: every answered request (sampled), and delayed labels, as Parquet.

The request path only appends a small tuple to a bounded in-memory buffer; a background
thread turns the buffer into a Parquet file every ``WINDLASS_PREDICTION_LOG_FLUSH_SECONDS``
(or sooner when it fills) under ``<root>/<name>/predictions/date=YYYY-MM-DD/`` — the root
being ``WINDLASS_PREDICTION_LOG_URI`` or ``<artifact root>/prediction-logs``. Labels posted
to ``/feedback`` go to ``<root>/<name>/feedback/``. A full buffer drops records and counts
them (``windlass_prediction_log_records{status="dropped"}``); it never blocks a request.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from windlass.ids import new_id

logger = logging.getLogger("windlass.serving.predlog")

#: Rows converted to Arrow at a time by the flush thread (see ``_write``).
_SLICE = 512
PREDICTION_COLUMNS = (
    "request_id",
    "timestamp_ms",
    "model",
    "version",
    "variant",
    "latency_ms",
    "inputs",
    "outputs",
    "shadow",
)
FEEDBACK_COLUMNS = ("request_id", "timestamp_ms", "label")


def default_root() -> str:
    """Return where prediction logs go: the setting, or ``<artifact root>/prediction-logs``."""
    from windlass import config

    configured: str | None = config.settings.prediction_log_uri
    if configured:
        return configured.rstrip("/")
    return f"{config.default_artifact_uri().rstrip('/')}/prediction-logs"


class PredictionLog:
    """Buffered, sampled, asynchronous Parquet logging of predictions and feedback."""

    def __init__(
        self,
        root: str,
        name: str,
        *,
        sample_rate: float = 1.0,
        flush_seconds: float = 2.0,
        max_buffer: int = 100_000,
        on_write: Callable[[str, int], None] | None = None,
    ) -> None:
        from windlass.artifacts.paths import clean_artifact_path

        self.root = root.rstrip("/")
        self.name = clean_artifact_path(name)
        self.sample_rate = sample_rate
        self.flush_seconds = flush_seconds
        self.max_buffer = max_buffer
        self.on_write = on_write
        self._predictions: list[tuple[Any, ...]] = []
        self._feedback: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._storage: Any = None
        self._stop = threading.Event()
        self._random = random.Random()
        self._thread = threading.Thread(
            target=self._loop, name="windlass-prediction-log", daemon=True
        )
        self._thread.start()

    def record(
        self,
        request_id: str,
        model: str,
        version: str,
        variant: str,
        latency_ms: float,
        inputs: Any,
        outputs: Any,
        shadow: bool = False,
    ) -> None:
        """Queue one answered request: its inputs and outputs as JSON text, no I/O.

        Encoding here (a few µs with orjson) keeps the buffer free of object graphs: the
        garbage collector would otherwise walk every buffered request's inputs on each
        full collection, which cost the server a fifth of its throughput under load.
        """
        if self.sample_rate < 1.0 and self._random.random() >= self.sample_rate:
            return
        try:
            encoded_inputs, encoded_outputs = _json(inputs), _json(outputs)
        except (TypeError, ValueError) as exc:
            logger.warning(
                "request %s: cannot log its inputs or outputs as JSON: %s", request_id, exc
            )
            if self.on_write is not None:
                self.on_write("dropped", 1)
            return
        row = (
            request_id,
            int(time.time() * 1000),
            model,
            version,
            variant,
            latency_ms,
            encoded_inputs,
            encoded_outputs,
            shadow,
        )
        with self._lock:
            if len(self._predictions) >= self.max_buffer:
                dropped = True
            else:
                self._predictions.append(row)
                dropped = False
        if dropped and self.on_write is not None:
            self.on_write("dropped", 1)

    def feedback(self, request_id: str, label: Any) -> None:
        """Queue a delayed ground-truth label for an earlier request."""
        with self._lock:
            self._feedback.append(
                (
                    request_id,
                    int(time.time() * 1000),
                    orjson.dumps(label, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
                )
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def flush(self) -> None:
        """Write everything buffered now (one Parquet file per kind)."""
        with self._lock:
            predictions, self._predictions = self._predictions, []
            feedback, self._feedback = self._feedback, []
        try:
            if predictions:
                self._write("predictions", PREDICTION_COLUMNS, predictions)
                if self.on_write is not None:
                    self.on_write("written", len(predictions))
            if feedback:
                self._write("feedback", FEEDBACK_COLUMNS, feedback)
        except Exception:
            logger.exception(
                "could not write %d prediction-log records to %s",
                len(predictions) + len(feedback),
                self.root,
            )
            if self.on_write is not None:
                self.on_write("dropped", len(predictions))

    def _write(self, kind: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        # Converting Python values holds the GIL: in slices of _SLICE rows, with a pause
        # between them, the server's event loop is never kept waiting for long.
        batches = []
        for start in range(0, len(rows), _SLICE):
            part = rows[start : start + _SLICE]
            batches.append(
                pa.record_batch(
                    [pa.array(list(values)) for values in zip(*part, strict=True)],
                    names=list(columns),
                )
            )
            time.sleep(0)
        table = pa.Table.from_batches(batches)
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        key = f"{self.name}/{kind}/date={day}/{new_id()}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        if self._storage is None:
            from windlass.artifacts import open_storage

            self._storage = open_storage(self.root)
        self._storage.write_from(key, io.BytesIO(sink.getvalue().to_pybytes()))

    def close(self) -> None:
        """Stop the background thread after a last flush."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()


_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _json(value: Any) -> str:
    try:  # parsed JSON and numpy arrays encode directly: the common, fast case
        return orjson.dumps(value, option=_JSON_OPTIONS).decode()
    except TypeError:
        from windlass.serving.payloads import to_jsonable

        return orjson.dumps(to_jsonable(value), option=_JSON_OPTIONS).decode()


def get_predictions(name: str, *, root: str | None = None, with_feedback: bool = True) -> Any:
    """Return a model server's logged predictions as a DataFrame, oldest first.

    ``name`` is the served name (the model or deployment name). ``inputs`` and ``outputs``
    are JSON text. With ``with_feedback``, a ``label`` column holds the latest label posted
    to ``/feedback`` for each request (missing where none came yet).
    """
    import io

    from windlass.artifacts import open_storage
    from windlass.artifacts.paths import clean_artifact_path
    from windlass.extras import require

    pd = require("pandas", extra="ml", feature="get_predictions")
    pa = require("pyarrow", extra="ml", feature="get_predictions")
    pq = require("pyarrow.parquet", extra="ml", feature="get_predictions")

    storage = open_storage(root or default_root())
    base = clean_artifact_path(name)

    def read(kind: str, columns: tuple[str, ...]) -> Any:
        tables = []
        for key in sorted(storage.list_keys(f"{base}/{kind}")):
            if key.endswith(".parquet"):
                with storage.open_read(key) as handle:
                    tables.append(pq.read_table(io.BytesIO(handle.read())))
        if not tables:
            return pd.DataFrame({c: [] for c in columns})
        return pa.concat_tables(tables).to_pandas()

    predictions = read("predictions", PREDICTION_COLUMNS).sort_values(
        "timestamp_ms", kind="stable", ignore_index=True
    )
    if not with_feedback:
        return predictions
    feedback = read("feedback", FEEDBACK_COLUMNS)
    if len(feedback):
        latest = feedback.sort_values("timestamp_ms", kind="stable").drop_duplicates(
            "request_id", keep="last"
        )
        labels = latest.set_index("request_id")["label"].map(orjson.loads)
        predictions["label"] = predictions["request_id"].map(labels)
    else:
        predictions["label"] = None
    return predictions
