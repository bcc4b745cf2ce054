"""The staff web console under /console/: lawyers, supervisors and content editors in a browser.

Server-rendered (aiohttp + Jinja2), in kk/ru/en, on the same record and the same relay outbox as the
Telegram desk. Off unless PANA_CONSOLE=1; accounts come from `pana staff`.
"""
