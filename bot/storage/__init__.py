"""The durable record (SQLAlchemy 2, async) and the short-lived state stores."""
