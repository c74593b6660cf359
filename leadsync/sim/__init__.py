"""Simulated outside world for the demo, `leadsync simulate`, tests and benchmarks."""
