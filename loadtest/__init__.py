"""Benchmarks and Locust suites; each prints its figures and saves them under results/."""
