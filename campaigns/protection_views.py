"""The protection page: each message channel's frequency cap and quiet hours, and the
time zone they are read in. Marketers and admins change them (MANAGE_CAMPAIGNS); the
engine applies them at its next run (campaigns/protection.py)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability

from . import protection, services
from .forms import ChannelRulesForm, ProtectionForm
from .models import ActivationSettings, ChannelRules

PAGE = "campaigns/protection.html"


def _forms(data, settings: ActivationSettings):
    zone = ProtectionForm(data, initial={"time_zone": settings.time_zone})
    channels = []
    for channel, label in ChannelRules.Channel.choices:
        rules = settings.for_channel(channel)
        initial = {name: getattr(rules, name) for name in services.RULE_FIELDS}
        # A channel none of whose fields were posted keeps its rules (a form from before
        # the channel existed).
        posted = data is not None and any(key.startswith(f"{channel}-") for key in data)
        form = ChannelRulesForm(data if posted else None, prefix=channel, initial=initial)
        channels.append(
            {
                "channel": channel,
                "label": label,
                "form": form,
                "summary": protection.describe(rules, settings.time_zone),
            }
        )
    return zone, channels


def _place(error: dict, zone: ProtectionForm, channels: list[dict]) -> None:
    """A service's refusal at its field (``channels.email.quiet_end``)."""
    field = error["field"]
    if field == "time_zone":
        return zone.add_error("time_zone", error["message"])
    _, channel, name = (field.split(".") + ["", ""])[:3]
    for item in channels:
        if item["channel"] == channel and name in item["form"].fields:
            return item["form"].add_error(name, error["message"])
    zone.add_error(None, error["message"])


@requires(Cap.VIEW_CAMPAIGNS, write=Cap.MANAGE_CAMPAIGNS)
def protection_page(request):
    settings = ActivationSettings.load()
    zone, channels = _forms(request.POST or None, settings)
    posted = [c for c in channels if c["form"].is_bound]
    if request.method == "POST" and zone.is_valid() and all(c["form"].is_valid() for c in posted):
        try:
            services.save_protection(
                time_zone=zone.cleaned_data["time_zone"],
                channels={c["channel"]: c["form"].cleaned_data for c in posted},
            )
        except services.CampaignError as error:
            for problem in error.errors:
                _place(problem, zone, channels)
        else:
            messages.success(request, "Saved: campaigns apply these rules from now on.")
            return redirect("campaigns:protection")
    context = {
        "zone_form": zone,
        "channels": channels,
        "can_manage": has_capability(request.user, Cap.MANAGE_CAMPAIGNS),
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, PAGE, context, status=status)
