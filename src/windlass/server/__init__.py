"""The REST server: FastAPI app, error mapping, request limits and routes."""
