"""Kunskapsbanken domain: articles, offices, schema, settings."""
