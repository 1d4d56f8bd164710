"""The profiles' dashboard tile (registered in ProfilesConfig.ready): how many people."""

from cdp_site.counting import count_rows
from cdp_site.dashboard import Tile, shown
from cdp_site.permissions import Cap

from .models import Profile
from .selectors import active_profiles


def tiles() -> list[Tile]:
    value, how = shown(count_rows(active_profiles(), table=Profile._meta.db_table))
    return [
        Tile(
            title="Profiles",
            value=value,
            detail=how or "one per person",
            order=10,
            url_name="profiles:index",
            cap=Cap.VIEW_PROFILES,
        )
    ]
