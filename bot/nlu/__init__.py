"""The bot's side of NLU: the Rasa HTTP client, text normalisation, and the Rasa project commands."""
