"""qa pages."""
