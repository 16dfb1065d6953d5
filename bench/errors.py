"""The one exception the benchmark raises for problems it can explain."""


class BenchError(Exception):
    """Setup or measurement failed; the message says what and where to look."""
