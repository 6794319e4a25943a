"""The ASGI application of the runtime tests: `uvicorn tests.runtime_app.asgi:application`."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.runtime_app.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
