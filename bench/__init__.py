"""The benchmark harness of issue 15: `make bench` (never `make test`); see docs/performance.md."""
