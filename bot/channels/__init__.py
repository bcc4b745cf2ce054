"""Thin channel adapters: platform updates in, neutral messages to the core, neutral replies out."""
