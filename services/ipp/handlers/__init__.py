"""The IPP operations: one module per area, plain async functions per operation."""
