"""Server-rendered pages: one blueprint package per area (routes.py + forms.py)."""
