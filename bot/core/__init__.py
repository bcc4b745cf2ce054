"""Channel-neutral dialogue: messages in, replies out. Imports no channel SDK or HTTP client."""
