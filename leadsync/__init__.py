"""The `leadsync` command."""
