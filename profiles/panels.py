"""Hook: the panels other apps add to the profile page (the segments a person is in, their
journeys and messages). Each is loaded lazily from its app's own URL, so that profiles
imports no other app and its templates name no other app's URLs; apps register theirs in
AppConfig.ready(), shown in the order the apps are installed.
"""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Panel:
    key: str  # the section's id: "<key>-title" labels it
    title: str
    url_name: str  # a URL that takes the profile's id and answers the panel's fragment
    loading: str  # shown until the fragment arrives

    def url(self, profile_id: int) -> str:
        return reverse(self.url_name, args=[profile_id])


PANELS: list[Panel] = []


def register_profile_panel(*, key: str, title: str, url_name: str, loading: str) -> None:
    if any(panel.key == key for panel in PANELS):
        return
    PANELS.append(Panel(key=key, title=title, url_name=url_name, loading=loading))


def panels_for(*, profile_id: int) -> list[dict]:
    """The registered panels with their URLs for one profile, for the page."""
    return [
        {"key": p.key, "title": p.title, "url": p.url(profile_id), "loading": p.loading}
        for p in PANELS
    ]
