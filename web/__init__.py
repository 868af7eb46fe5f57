"""The Flask application (public, handler, api). The command-line entry point lives in web/cli.py."""
