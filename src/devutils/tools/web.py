"""web tools."""
