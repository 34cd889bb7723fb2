"""ipinfo tools."""
