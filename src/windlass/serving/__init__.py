"""Serving: the model server, adaptive batching, deployments, prediction logs, packaging."""
