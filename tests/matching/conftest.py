from tests.profiles.conftest import backend, crm, send  # noqa: F401 (fixtures shared)
