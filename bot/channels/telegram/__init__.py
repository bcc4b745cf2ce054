"""Telegram through aiogram 3: updates in, the core's replies out (webhook or long polling)."""

from bot.channels.telegram.lazy_models import import_aiogram

# Before any module of this package imports aiogram: its models are then built on first use (a worker's memory).
import_aiogram()
