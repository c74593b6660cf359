"""The assigner service: places scored contacts in pipeline stages and logs every move."""
