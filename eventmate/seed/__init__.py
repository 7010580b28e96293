"""Data for development and load testing: `flask seed demo` and `flask seed bulk`."""
