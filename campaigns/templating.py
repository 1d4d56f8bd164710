"""Personalised messages: a MessageTemplate rendered for one profile and one trigger.

The template language is Django's, run in a sandbox of its own:

* a separate ``Engine`` with autoescape on, no loaders (no ``{% include %}`` or
  ``{% extends %}`` of files), no tag libraries to ``{% load %}``, and without the tags
  and filters that reach outside the data or turn escaping off (``debug``, ``url``,
  ``load``, ``autoescape``, ``safe``, ``safeseq``...);
* limits on size, time and nesting (campaigns/render_limits.py): a template that asks
  for too much stops with a clear error, in the preview and at send time alike;
* the context is plain data only, frozen: dicts become read-only mappings, lists become
  tuples, anything else becomes its text. No model object, no method that changes
  anything: ``{{ profile.delete }}`` renders nothing and deletes nothing.

Variables a template can use::

    {{ profile.email }} {{ profile.traits.firstName }} {{ profile.computed.ltv }}
    {{ traits.firstName }} {{ computed.ltv }}      (shortcuts)
    {{ event.products }}  the trigger's properties, e.g. cart items with name/price/quantity
    {{ unsubscribe_url }} the person's unsubscribe link (added at the end when not used)
    {% for p in recommendations %}{{ p.name }}{% endfor %}  products for the person, and
    recommendations.bought_together / .popular_in_category / .viewed_not_bought
    (campaigns/recommendations/context.py; read only when the template names them)

With a delivery, the HTML gets the open pixel, links rewritten to signed click redirects
and an unsubscribe link; ``rendered.headers`` carries ``List-Unsubscribe`` (RFC 2369) and
``List-Unsubscribe-Post`` (RFC 8058 one-click).
"""

from __future__ import annotations

import contextlib
import functools
import html as html_lib
import re
from dataclasses import dataclass, field
from types import MappingProxyType

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template import Context, Engine, Library, TemplateSyntaxError

from cdp_site.confirm import in_use

from . import render_limits, selectors, tracking
from .models import MessageTemplate
from .recommendations import context as recommendations
from .render_limits import RenderLimitExceeded

# Tags and filters a message template may use: Django's defaults minus those that reach
# outside the given data (debug dumps the context and modules, url and include/extends
# reach the site, load reaches tag libraries) or switch autoescaping off for trait data.
BLOCKED_TAGS = {"debug", "url", "load", "autoescape", "include", "extends", "block", "csrf_token"}
BLOCKED_FILTERS = {"safe", "safeseq", "pprint"}
MAX_DEPTH = 8
MAX_TEXT = 10_000


def _sandbox_engine() -> Engine:
    engine = Engine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        autoescape=True,
        string_if_invalid="",
        debug=False,
    )
    allowed = Library()
    for library in engine.template_builtins:
        for name, tag in library.tags.items():
            if name not in BLOCKED_TAGS:
                allowed.tags[name] = tag
        for name, func in library.filters.items():
            if name not in BLOCKED_FILTERS:
                allowed.filters[name] = func
    render_limits.limit_library(allowed)
    engine.template_builtins = [allowed]
    return engine


ENGINE = _sandbox_engine()


@dataclass
class RenderedMessage:
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def freeze(value, depth: int = 0):
    """Plain, read-only data: mappings, tuples, text, numbers, booleans and None."""
    if depth > MAX_DEPTH:
        return ""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, recommendations.Recommendations):  # frozen already
        return value
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, dict):
        return MappingProxyType({str(k): freeze(v, depth + 1) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v, depth + 1) for v in value)
    return str(value)[:MAX_TEXT]


def event_data(context: dict | None) -> dict:
    """The trigger as ``event``: its properties at the top (``event.products``), with the
    event's name and the other fields kept when the context is a whole event."""
    context = dict(context or {})
    properties = context.get("properties")
    if isinstance(properties, dict):
        rest = {k: v for k, v in context.items() if k != "properties"}
        return {**properties, **rest, "properties": properties}
    return context


def profile_data(profile) -> dict:
    traits = dict(getattr(profile, "traits", None) or {})
    computed = dict(getattr(profile, "computed", None) or {})
    return {
        **traits,
        "id": getattr(profile, "pk", None),
        "display_name": getattr(profile, "display_name", "") or "",
        "stage": getattr(profile, "stage", "") or "",
        "traits": traits,
        "computed": computed,
    }


def build_context(*, profile, context: dict | None, extra: dict | None = None) -> dict:
    profile_dict = profile_data(profile)
    data = {
        "profile": profile_dict,
        "traits": profile_dict["traits"],
        "computed": profile_dict["computed"],
        "event": event_data(context),
        **(extra or {}),
    }
    return {k: freeze(v) for k, v in data.items()}


def syntax_message(source: str, exc: TemplateSyntaxError) -> str:
    line = None
    info = getattr(exc, "template_debug", None)
    if info and info.get("line"):
        line = info["line"]
    else:
        token = getattr(exc, "token", None)
        if token is not None and getattr(token, "lineno", None):
            line = token.lineno
    message = str(exc)
    if "Invalid block tag" in message or "is not a registered tag library" in message:
        message += " (message templates can't use debug, url, load, include or autoescape)"
    if "Invalid filter" in message:
        message += " (message templates can't use safe or safeseq)"
    return f"Line {line}: {message}" if line else message


# What a template can name at its top level (build_context); anything else is a typo that
# would render as nothing in every message, so it is refused when the template is saved.
KNOWN_NAMES = frozenset(
    {
        "profile",
        "traits",
        "computed",
        "event",
        "unsubscribe_url",
        recommendations.NAME,
        "forloop",
        "True",
        "False",
        "None",
    }
)
VARIABLE = re.compile(r"{{\s*([A-Za-z_]\w*)")
TAG = re.compile(r"{%\s*(\w+)\s+(.*?)%}", re.S)
STRING = re.compile(r"\"[^\"]*\"|'[^']*'")
FILTER = re.compile(r"\|\w+(:\S+)?")
NAME = re.compile(r"(?<![\w.\"'])([A-Za-z_]\w*)")


def unknown_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of every top-level name the template uses but is never given."""
    bound = set(KNOWN_NAMES)
    for tag, rest in TAG.findall(source):
        if tag == "for":
            bound.update(n.strip() for n in rest.split(" in ")[0].split(","))
        elif tag == "with":
            bound.update(part.split("=")[0].strip() for part in rest.split() if "=" in part)
    found = []
    for match in VARIABLE.finditer(source):
        found.append((match.start(), match.group(1)))
    keywords = {"in", "not", "and", "or", "is", "as", "reversed", "with", "only", "empty"}
    for match in TAG.finditer(source):
        tag, rest = match.group(1), match.group(2)
        rest = FILTER.sub("", STRING.sub('""', rest))  # strings and filters name nothing
        if tag in ("if", "elif"):
            names = NAME.findall(rest)
        elif tag == "for":
            names = NAME.findall(rest.split(" in ", 1)[1]) if " in " in rest else []
        else:
            continue
        found.extend((match.start(), n) for n in names if n not in keywords)
    return [(source.count("\n", 0, at) + 1, name) for at, name in found if name not in bound]


def validate_template(*, subject: str, body_html: str, body_text: str = "") -> None:
    """Raises ValidationError({field: "Line N: ..."}) for every field that doesn't compile
    or names a variable no message is ever given."""
    errors = {}
    for name, source in (("subject", subject), ("body_html", body_html), ("body_text", body_text)):
        try:
            _compile_with_lines(source or "", name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        unknown = unknown_names(source or "")
        if unknown:
            line, word = unknown[0]
            errors[name] = [
                f"Line {line}: unknown variable “{word}”: use profile, traits, "
                "computed, event, recommendations or unsubscribe_url."
            ]
    if errors:
        raise ValidationError(errors)


def _compile_with_lines(source: str, field_name: str):
    # Engine(debug=True) attaches the line to syntax errors; the sandbox engine renders
    # with debug off, so compile a second time with a debug twin only to find the line.
    try:
        return _compiled(source)
    except (RenderLimitExceeded, RecursionError) as exc:
        raise ValidationError({field_name: _limit_message(exc)}) from exc
    except TemplateSyntaxError as exc:
        line = _error_line(source)
        message = syntax_message(source, exc)
        if line and not message.startswith("Line "):
            message = f"Line {line}: {message}"
        raise ValidationError({field_name: message}) from exc


def _debug_engine() -> Engine:
    engine = Engine(loaders=[], libraries={}, autoescape=True, string_if_invalid="", debug=True)
    engine.template_builtins = ENGINE.template_builtins
    return engine


DEBUG_ENGINE = _debug_engine()


def _error_line(source: str) -> int | None:
    try:
        DEBUG_ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        return info.get("line")
    return None


@functools.lru_cache(maxsize=512)
def _compiled(source: str):
    """A compiled, metered template per source text (rendering never changes one)."""
    return render_limits.meter(ENGINE.from_string(source))


def _limit_message(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return f"Blocks are nested too deep (at most {render_limits.MAX_NESTING})."
    return str(exc)


def _render_one(source: str, data: dict, *, autoescape: bool = True) -> str:
    template = _compiled(source or "")
    rendered = template.render(Context(data, autoescape=autoescape))
    # Plain text, not Django's SafeString: a page showing the result (a preview) must
    # escape it like any other text.
    return "".join((rendered, ""))


def render(*, template, profile, context: dict | None, delivery=None) -> RenderedMessage:
    """The message for ``profile`` triggered with ``context`` (the event's properties).

    ``template`` is a MessageTemplate (or anything with subject, body_html, body_text).
    With ``delivery`` (a saved Delivery), links are tracked, an open pixel and an
    unsubscribe link are added, and ``headers`` holds List-Unsubscribe.
    Raises ValidationError when the template no longer compiles.
    """
    extra = {}
    headers: dict[str, str] = {}
    # A transactional message (an order confirmation) is no marketing: unsubscribing
    # from marketing would not stop it, so it offers no unsubscribe link.
    marketing = not getattr(template, "transactional", False)
    if delivery is not None and marketing:
        unsubscribe = tracking.unsubscribe_url(delivery.pk)
        extra["unsubscribe_url"] = unsubscribe
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    parts = (template.subject, template.body_html, template.body_text)
    if recommendations.uses_recommendations(*parts):
        extra[recommendations.NAME] = recommendations.for_profile(getattr(profile, "pk", None))
    data = build_context(profile=profile, context=context, extra=extra)
    subject, html, text = _render_parts(template, data)
    subject = " ".join(subject.split())
    if not text.strip():
        text = html_to_text(html)
    if delivery is not None and not marketing:
        html = track_html(html, delivery_id=delivery.pk, unsubscribe="")
    elif delivery is not None:
        html = track_html(html, delivery_id=delivery.pk, unsubscribe=unsubscribe)
        if "unsubscribe_url" not in (template.body_text or "") and unsubscribe not in text:
            text = f"{text.rstrip()}\n\n--\nUnsubscribe: {unsubscribe}\n"
    return RenderedMessage(subject=subject, html=html, text=text, headers=headers)


def render_sms(*, template, profile, context: dict | None) -> str:
    """A text message's body for ``profile``: ``body_text`` rendered as plain text (no
    HTML escaping, no tracking). ValidationError when it no longer renders, or renders
    empty."""
    data = build_context(profile=profile, context=context)
    with _failures_explained(template.body_text or ""):
        body = _render_one(template.body_text or "", data, autoescape=False).strip()
    if not body:
        raise ValidationError("The text message is empty for this person.")
    return body


@contextlib.contextmanager
def _failures_explained(source: str):
    """Renders under one message's limits; any failure of the template's is a
    ValidationError saying why (never an exception from inside the sandbox)."""
    try:
        with render_limits.budget():
            yield
    except TemplateSyntaxError as exc:
        raise ValidationError(syntax_message(source, exc)) from exc
    except (RenderLimitExceeded, RecursionError) as exc:
        raise ValidationError(_limit_message(exc)) from exc
    except Exception as exc:  # noqa: BLE001 (a filter given what it cannot take)
        raise ValidationError(
            f"The template stopped on an error: {type(exc).__name__}: {exc}"[:300]
        ) from exc


def _render_parts(template, data: dict) -> tuple[str, str, str]:
    """Subject, HTML and text under one message's limits (``_failures_explained``)."""
    with _failures_explained(template.body_html or ""):
        # A subject is a header: no HTML escaping, and no line breaks.
        subject = _render_one(template.subject, data, autoescape=False)
        html = _render_one(template.body_html, data)
        text = _render_one(template.body_text or "", data, autoescape=False)
    return subject, html, text


HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def track_html(html: str, *, delivery_id: int, unsubscribe: str | None = None) -> str:
    """Links through the click redirect, an unsubscribe link unless the template has one
    (none when ``unsubscribe`` is ''), and the open pixel at the end of the body."""
    if unsubscribe is None:
        unsubscribe = tracking.unsubscribe_url(delivery_id)

    def rewrite(match: re.Match) -> str:
        url = html_lib.unescape(match.group(3)).strip()
        if not re.match(r"^https?://", url, re.IGNORECASE) or url == unsubscribe:
            return match.group(0)
        tracked = tracking.click_url(delivery_id, url)
        return f"{match.group(1)}{match.group(2)}{html_lib.escape(tracked)}{match.group(2)}"

    html = HREF.sub(rewrite, html)
    tail = ""
    if unsubscribe and html_lib.escape(unsubscribe) not in html and unsubscribe not in html:
        tail += (
            '<p style="font-size:12px;color:#666">'
            f'<a href="{html_lib.escape(unsubscribe)}">Unsubscribe</a></p>'
        )
    tail += (
        f'<img src="{html_lib.escape(tracking.open_url(delivery_id))}" width="1" height="1" '
        'alt="" style="display:block;border:0">'
    )
    found = list(BODY_END.finditer(html))
    if found:
        at = found[-1].start()
        return html[:at] + tail + html[at:]
    return html + tail


TAGS = re.compile(r"<[^>]+>")
BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table)\s*>|<br\s*/?>", re.IGNORECASE)
STYLE = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_to_text(html: str) -> str:
    """A plain-text part from the HTML when the template has none."""
    text = STYLE.sub("", html)
    text = BLOCK_END.sub("\n", text)
    text = html_lib.unescape(TAGS.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out, blank = [], False
    for line in lines:
        if line:
            out.append(line)
            blank = False
        elif not blank and out:
            out.append("")
            blank = True
    return "\n".join(out).strip() + "\n"


EXAMPLE_CONTEXT = {
    "event": "Cart Abandoned",
    "properties": {
        "cart_id": "c-1001",
        "products": [
            {"name": "Rain jacket", "price": 129.0, "quantity": 1},
            {"name": "Wool socks", "price": 12.5, "quantity": 2},
        ],
        "total": 154.0,
    },
}


@transaction.atomic
def save_template(
    *,
    template=None,
    name: str,
    subject: str = "",
    body_html: str = "",
    body_text: str = "",
    channel: str = MessageTemplate.Channel.EMAIL,
    transactional: bool = False,
):
    """Creates or updates a MessageTemplate after checking that every part compiles;
    raises ValidationError({field: "Line N: ..."}) otherwise. An e-mail needs a subject
    and an HTML body, a text message (``channel`` "sms") its text. A message sent by a
    broadcast or a segment's campaign cannot become transactional."""

    if channel == MessageTemplate.Channel.SMS:
        validate_sms(body_text=body_text)
        subject, body_html = "", ""
    else:
        validate_email(subject=subject, body_html=body_html, body_text=body_text)
    template = template or MessageTemplate()
    if (
        template.pk
        and transactional
        and (marketing := selectors.marketing_campaigns_sending(template=template))
    ):
        raise ValidationError(
            {
                "transactional": [
                    f"Sent by {', '.join(marketing)}: a broadcast or a segment's "
                    "campaign cannot send a transactional message."
                ]
            }
        )
    template.name = name
    template.channel = channel
    template.transactional = bool(transactional)
    template.subject = subject
    template.body_html = body_html
    template.body_text = body_text or ""
    template.full_clean()
    template.save()
    return template


def validate_email(*, subject: str, body_html: str, body_text: str = "") -> None:
    """An e-mail's template: a subject and an HTML body, each part compiling."""
    errors = {}
    if not (subject or "").strip():
        errors["subject"] = ["An e-mail needs a subject."]
    if not (body_html or "").strip():
        errors["body_html"] = ["An e-mail needs an HTML body."]
    if errors:
        raise ValidationError(errors)
    validate_template(subject=subject, body_html=body_html, body_text=body_text)


def validate_sms(*, body_text: str) -> None:
    """A text message's template: it compiles, names only known variables, is not empty."""
    if not (body_text or "").strip():
        raise ValidationError({"body_text": ["Write the text message."]})
    try:
        validate_template(subject="", body_html="", body_text=body_text)
    except ValidationError as exc:
        raise ValidationError(
            {"body_text": exc.message_dict.get("body_text", exc.messages)}
        ) from exc


def deletion_problem(*, template) -> str:
    """Why ``template`` may not be deleted now ('' when it may): the campaigns not
    finished that send it."""
    return in_use(sorted(selectors.campaigns_sending(template=template)))


@transaction.atomic
def delete_template(*, template) -> None:
    """Deletes a message template; refused while a campaign not finished sends it (its
    past deliveries keep their record, without the template)."""
    problem = deletion_problem(template=template)
    if problem:
        raise ValidationError({"template": [problem]})
    template.delete()
