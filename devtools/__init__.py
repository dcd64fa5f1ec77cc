"""Bar Raiser's developer tools, a distribution of their own (``barraiser-devtools``, ``devtools/pyproject.toml``)
that is not part of the product's wheel: the fake LLM (``fake_llm``), the benchmark (``bench``), the cassette
recorder (``record_replay``) and the child-server helper they and the tests share (``processes``). They register
``barraiser fake-llm`` and ``barraiser bench`` through the ``barraiser.commands`` entry-point group. The product
(``app``) never imports this package."""
