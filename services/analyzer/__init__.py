"""The analyzer service: keeps transcripts, scores conversations, publishes contact.scored."""
