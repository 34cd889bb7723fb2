"""cert tools."""
