"""LLM calls: the client (``windlass.llm``), where a call goes, and what it cost."""
