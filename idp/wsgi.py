"""WSGI entry point: ``gunicorn idp.wsgi:app`` (settings from ``IDP_*`` environment variables)."""
from . import create_app

app = create_app()
