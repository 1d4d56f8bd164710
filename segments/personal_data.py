"""segments' tables in the personal-data registry (cdp_site/personal_data.py): the
segments a person is in and their entries and exits. A segment's stored size is not
corrected here; its next computation counts without them."""

from cdp_site.personal_data import by_profile


def register_all() -> None:
    by_profile("segments.Membership", "segments_membership", part="segment_memberships")
    by_profile("segments.MembershipChange", "segments_membershipchange", part="segment_history")
