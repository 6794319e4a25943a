"""The Django app of celerylint-runtime: add "celerylint_runtime.django" to INSTALLED_APPS."""
