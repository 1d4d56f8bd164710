"""Checks on a destination's settings shared by the form and the API, each answered at
its field (``{"folder": "why"}``): the form shows them beside the field, the API under
``config.<name>``."""

from __future__ import annotations

import re

import phonenumbers

from cdp_site.contact_points import normalize_phone

from . import exports, services
from .kinds import KINDS, as_list, consent_purposes
from .models import Destination

TRAIT_KEY = re.compile(r"[\w.$@-]{1,100}\Z")


def config_problems(kind: str, config: dict) -> dict[str, str]:
    problems: dict[str, str] = {}
    for field in KINDS[kind].config:
        value = config.get(field.name)
        if value in (None, ""):
            continue
        problem = _problem(field.type, value)
        if problem:
            problems[field.name] = problem
    if kind == "smtp" and not problems:
        problems.update(_smtp_problems(config))
    if kind == "sms":
        problems.update(_sms_problems(config, problems))
    return problems


def _sms_problems(config: dict, found: dict) -> dict[str, str]:
    """The from number is a number in E.164; the default region one phonenumbers knows."""
    problems = {}
    region = str(config.get("default_region") or "US").strip().upper()
    if "default_region" not in found and region not in phonenumbers.SUPPORTED_REGIONS:
        problems["default_region"] = f'"{region}" is not a country code such as US, GB or NL.'
    sender = str(config.get("from_number") or "").strip()
    if sender and normalize_phone(sender, "ZZ") != sender:
        problems["from_number"] = "Give the number in E.164, e.g. +14155550100."
    return problems


def _smtp_problems(config: dict) -> dict[str, str]:
    """A password goes over TLS only: STARTTLS or TLS from the start, not both."""
    try:
        typed = services.typed_config("smtp", config)
    except (TypeError, ValueError):
        return {}  # the field's own check answers
    if typed.get("starttls") and typed.get("tls"):
        return {"tls": "Choose STARTTLS or TLS from the start, not both."}
    if typed.get("username") and not (typed.get("starttls") or typed.get("tls")):
        return {
            "starttls": "With a user name the password is sent only over TLS: turn on "
            "STARTTLS or TLS from the start."
        }
    return {}


def _problem(kind: str, value) -> str:
    if kind == "path":
        return exports.folder_problem(value)
    if kind == "purpose":
        purposes = consent_purposes()
        if purposes is not None and value not in {slug for slug, _ in purposes}:
            known = ", ".join(slug for slug, _ in purposes)
            return f'"{value}" is not a consent purpose; choose one of: {known}.'
    if kind == "list":
        if not isinstance(value, list | tuple | str):
            return "Give a list of trait keys, or one text with the keys separated by commas."
        bad = [key for key in as_list(value) if not TRAIT_KEY.match(key)]
        if bad:
            return f'"{bad[0]}" is not a trait key (letters, digits, _ . - $ @; at most 100).'
    return ""


def secret_problems(destination: Destination, *, config: dict, secrets: dict) -> dict[str, str]:
    """Secrets to enter again because the endpoint moves to another host."""
    labels = {field.name: field.label for field in KINDS[destination.kind].secrets}
    return {
        name: f"The address moved to another host: enter the {labels[name].lower()} again "
        "(it is never sent to a host it was not entered for)."
        for name in services.moved_secrets(destination=destination, config=config)
        if not secrets.get(name)
    }
