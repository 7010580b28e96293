"""Accounts. Services for creating users; login arrives with its own blueprint."""
