"""The round's core: its vocabulary (moves, votes, STAR parts, levels, error codes), its state, grades, the read-only
view brains and rules see, the frames a round emits, and the ports (the ``Brain`` interface and its errors).

Everything else in ``app`` imports this package; at run time it imports nothing else of ``app`` (the view names the
content catalogue only for the type checker). A test (tests/unit/test_layers.py) keeps it that way.
"""
