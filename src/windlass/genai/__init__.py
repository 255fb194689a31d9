"""Generative AI: the LLM client, tracing, costs, and (later) prompts and evaluation."""
