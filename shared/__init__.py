"""Contracts and plumbing shared by every leadsync service; imports no service."""
