"""Tool families: one module each.  Importing a module declares its tools (see registry.tool)."""
