"""The benchmark (docs/performance.md): ``run`` (N concurrent WebSocket sessions against a real server and the fake
LLM), ``floor`` (what LangGraph and the openai client alone cost per turn), ``cli`` (``barraiser bench``)."""
