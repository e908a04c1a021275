"""JSON API v1 (being written)."""

from flask import Blueprint

bp = Blueprint("api", __name__)
