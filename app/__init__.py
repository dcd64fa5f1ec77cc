"""Bar Raiser: a mock interviewer for the Amazon Data Scientist loop."""

__version__ = "0.1.0"
