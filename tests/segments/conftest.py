import pytest

from tests.profiles.conftest import crm, drain, message, send, web  # noqa: F401

pytestmark = pytest.mark.django_db


def rule(*children, match="all"):
    return {"version": 1, "root": {"type": "group", "match": match, "children": list(children)}}
