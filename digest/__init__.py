"""digest: summarize new article files into one readable email."""

__version__ = "0.1.0"
