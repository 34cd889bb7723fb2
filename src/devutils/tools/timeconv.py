"""timeconv tools."""
