"""Values that stores hand out and features read: defined below both, so storage imports no feature."""
