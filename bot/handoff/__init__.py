"""The lawyer handoff: the seam the core calls, and (later) the durable case queue behind it."""
