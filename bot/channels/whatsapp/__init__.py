"""WhatsApp through Twilio: signed webhooks in, the core's replies out through the REST API from a durable outbox."""
