"""qa pages (being written)."""

from flask import Blueprint

bp = Blueprint("qa", __name__)
