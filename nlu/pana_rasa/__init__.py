"""Pana's own Rasa components (imported by Rasa from config.yml; Rasa puts the project folder on its path)."""
