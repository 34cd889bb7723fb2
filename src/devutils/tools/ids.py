"""ids tools."""
