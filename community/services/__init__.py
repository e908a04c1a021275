"""The domain: one plain function per use case. Services never commit and never touch Flask's request."""
