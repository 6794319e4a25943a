"""Fixes: applying the `Edit`s of findings to files (apply.py) with libcst operations
(operations.py, imports.py). Rules build `Fix`es as plain data (celerylint.diagnostics)
and never import this package."""
