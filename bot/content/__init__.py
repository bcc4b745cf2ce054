"""Curated legal-aid content (the data lives in the top-level content/ directory)."""
