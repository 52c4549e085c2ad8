"""Storage: the database engine and sessions, typed models, keyword-only data functions and migrations."""
