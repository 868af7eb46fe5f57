"""Production entry point: `gunicorn -c gunicorn.conf.py web.wsgi:app` (settings from KB_* variables)."""
from web import create_app

app = create_app()
