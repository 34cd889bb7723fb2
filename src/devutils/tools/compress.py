"""compress tools."""
