"""users pages."""
