"""The fake LLM: a scripted, OpenAI-compatible Chat Completions server on loopback for tests and the benchmark
(docs/fake-llm.md). ``script`` (validating and loading scripts), ``schema_instance`` (default answers to JSON-schema
requests), ``asgi`` (the server), ``harness`` (``FakeLLM``, the server in a child process), ``cli``
(``barraiser fake-llm``)."""
