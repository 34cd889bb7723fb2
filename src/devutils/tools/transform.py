"""transform tools."""
