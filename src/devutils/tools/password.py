"""password tools."""
