"""Limits on rendering a marketer's message template, so that no template exhausts a
worker or a web process: at most ``MAX_OUTPUT`` characters, ``MAX_SECONDS`` of time
and ``MAX_STEPS`` rendering steps per message, blocks nested at most ``MAX_NESTING``
deep.

A render cannot be stopped from outside a thread (``signal.alarm`` works only in the
main thread), so it stops itself: every compiled template is *metered* once, when it is
compiled. Each node list becomes a ``MeteredNodeList``, whose iteration (once per
rendering of a block, and once per ``{% for %}`` iteration, even an empty one) counts
a step and looks at the clock; each leaf node (text, variables, simple tags) is wrapped
to add its output to the message's size. The budget of the message being rendered
lives in a context variable, so concurrent renders in threads do not share one.

One operation can still be large on its own: the filters and tags whose argument sets
the size of their output (``center``, ``ljust``, ``rjust``, ``stringformat``,
``floatformat``, ``add`` and ``join`` of long texts, ``{% lorem %}``) are replaced by
versions that refuse a too large argument before doing anything.
"""

from __future__ import annotations

import functools
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.template import Library, Node, NodeList
from django.template.defaulttags import IfNode, LoremNode
from django.template.defaulttags import lorem as lorem_tag

MAX_OUTPUT = 1_000_000  # characters of one rendered message (subject, HTML and text)
MAX_SECONDS = 2.0
MAX_STEPS = 1_000_000
MAX_NESTING = 20
MAX_WIDTH = 1_000  # center, ljust, rjust, stringformat widths and precisions
MAX_PRECISION = 30  # floatformat digits
MAX_JOINED = 100_000  # characters that add or join may build
MAX_LOREM = 100  # words or paragraphs
CLOCK_EVERY = 256  # steps between two looks at the clock


class RenderLimitExceeded(Exception):
    """A template asked for more than a message may take; the message says what."""


@dataclass
class _Budget:
    deadline: float
    size: int = 0
    steps: int = 0


_budget: ContextVar[_Budget | None] = ContextVar("message_render_budget", default=None)


@contextmanager
def budget(*, seconds: float = MAX_SECONDS):
    """One message's allowance: every template rendered inside shares it."""
    token = _budget.set(_Budget(deadline=time.monotonic() + seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def _step() -> None:
    current = _budget.get()
    if current is None:
        return
    current.steps += 1
    if current.steps > MAX_STEPS:
        raise RenderLimitExceeded(
            f"The message needs more than {MAX_STEPS:,} rendering steps: "
            "are {% for %} loops nested too deep?"
        )
    if current.steps % CLOCK_EVERY == 0 and time.monotonic() > current.deadline:
        raise RenderLimitExceeded(
            f"The message took longer than {MAX_SECONDS:g} seconds to render: "
            "are {% for %} loops nested too deep?"
        )


def _charge(size: int) -> None:
    current = _budget.get()
    if current is None:
        return
    current.size += size
    if current.size > MAX_OUTPUT:
        raise RenderLimitExceeded(
            f"The message is larger than {MAX_OUTPUT // 1_000_000} MB once rendered."
        )
    _step()


class MeteredNodeList(NodeList):
    def __iter__(self):
        _step()
        return super().__iter__()


class MeteredLeaf(Node):
    """A leaf node whose output counts towards the message's size."""

    child_nodelists = ()

    def __init__(self, inner: Node):
        self.inner = inner
        self.token = getattr(inner, "token", None)
        self.origin = getattr(inner, "origin", None)

    def render(self, context):
        return self.render_annotated(context)

    def render_annotated(self, context):
        output = self.inner.render_annotated(context)
        _charge(len(output))
        return output


def meter(template):
    """Meters a compiled template in place (see the module's docstring); returns it.

    Raises RenderLimitExceeded when its blocks are nested deeper than MAX_NESTING."""
    _meter(template.nodelist, depth=0)
    return template


def _child_nodelists(node: Node) -> list[NodeList]:
    if isinstance(node, IfNode):  # its branches are not in child_nodelists
        return [nodelist for _, nodelist in node.conditions_nodelists]
    found = (getattr(node, name, None) for name in node.child_nodelists)
    return [nodelist for nodelist in found if isinstance(nodelist, NodeList)]


def _meter(nodelist: NodeList, depth: int) -> None:
    if depth > MAX_NESTING:
        raise RenderLimitExceeded(f"Blocks are nested more than {MAX_NESTING} deep.")
    nodelist.__class__ = MeteredNodeList
    for index, node in enumerate(nodelist):
        children = _child_nodelists(node)
        for child in children:
            _meter(child, depth + 1)
        if not children and not isinstance(node, MeteredLeaf):
            nodelist[index] = MeteredLeaf(node)


# Filters and tags whose argument sets the size of their output.


def _refuse_large_numbers(name: str, arg, limit: int) -> None:
    for digits in re.findall(r"\d+", str(arg)):
        if len(digits) > 9 or int(digits) > limit:
            raise RenderLimitExceeded(f"“{name}” accepts at most {limit}, not {digits[:12]}.")


def _numbers_at_most(name: str, original, limit: int):
    @functools.wraps(original)
    def checked(value, arg=-1):
        _refuse_large_numbers(name, arg, limit)
        return original(value, arg)

    return checked


def _length(value) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _checked_add(original):
    @functools.wraps(original)
    def add(value, arg):
        left, right = _length(value), _length(arg)
        if left is not None and right is not None and left + right > MAX_JOINED:
            raise RenderLimitExceeded(f"“add” would build more than {MAX_JOINED:,} characters.")
        return original(value, arg)

    return add


def _checked_join(original):
    @functools.wraps(original)
    def join(value, arg, autoescape=True):
        count, separator = _length(value), _length(arg)
        if count is not None and separator is not None and count * separator > MAX_JOINED:
            raise RenderLimitExceeded(f"“join” would build more than {MAX_JOINED:,} characters.")
        return original(value, arg, autoescape=autoescape)

    return join


class LimitedLoremNode(LoremNode):
    def render(self, context):
        try:
            count = int(self.count.resolve(context))
        except (ValueError, TypeError):
            count = 1
        if count > MAX_LOREM:
            raise RenderLimitExceeded(f"“lorem” accepts at most {MAX_LOREM}, not {count}.")
        return super().render(context)


def _limited_lorem(parser, token):
    node = lorem_tag(parser, token)
    return LimitedLoremNode(node.count, node.method, node.common)


def limit_library(library: Library) -> None:
    """Replaces, in the sandbox's library, the filters and tags that can grow without end."""
    filters = library.filters
    for name in ("center", "ljust", "rjust", "stringformat"):
        if name in filters:
            filters[name] = _numbers_at_most(name, filters[name], MAX_WIDTH)
    if "floatformat" in filters:
        filters["floatformat"] = _numbers_at_most(
            "floatformat", filters["floatformat"], MAX_PRECISION
        )
    if "add" in filters:
        filters["add"] = _checked_add(filters["add"])
    if "join" in filters:
        filters["join"] = _checked_join(filters["join"])
    if "lorem" in library.tags:
        library.tags["lorem"] = _limited_lorem
