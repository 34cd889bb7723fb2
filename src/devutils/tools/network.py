"""network tools."""
