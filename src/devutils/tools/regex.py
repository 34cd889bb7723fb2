"""regex tools."""
