"""Telegram through aiogram 3: updates in, the core's replies out (webhook or long polling)."""
