"""The web app: static pages served by the API itself, one per party (see docs/web.md)."""
