"""The knowledge engine: schema, loading and validation, normalization, indexing, search and the live store."""
