"""Tracing: the ``@trace``/``span`` SDK, OTLP ingest, span conventions, the traces domain."""
