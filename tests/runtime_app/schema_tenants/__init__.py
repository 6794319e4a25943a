"""A django-tenants tenant model for the schema applier tests (tests/runtime_app/settings_schema.py)."""
