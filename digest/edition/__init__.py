"""edition."""
