"""LLM plumbing: the OpenAI-compatible client, structured outputs, streaming JSON, cassettes, and the fake server."""
