"""Parts: one module per AWS resource kind in a chain (find, create, update, delete, diff)."""
