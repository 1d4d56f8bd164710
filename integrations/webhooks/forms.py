from django import forms

from .mapping import RuleError, parse_rules, rules_text
from .models import WebhookConfig

EXAMPLE = """userId = $.customer.id
traits.email = $.customer.email
event = $.event
properties.items = $.data.items"""


class WebhookForm(forms.Form):
    kind = forms.ChoiceField(label="Each delivery becomes", choices=WebhookConfig.Kind.choices)
    require_signature = forms.BooleanField(
        required=False,
        label="Require a signature",
        help_text="X-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of '<t>.<raw body>' "
        "with the secret>; at most 5 minutes old, each signature once.",
    )
    rules = forms.CharField(
        label="Mapping",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": EXAMPLE}),
        help_text='One "target = $.json.path" a line; target is userId, anonymousId, event, '
        "timestamp, messageId, traits.<name>, properties.<name> or context.<name>. "
        'A quoted value is a constant: event = "Order Completed".',
    )

    def __init__(self, *args, config: WebhookConfig, **kwargs):
        initial = {
            "kind": config.kind,
            "require_signature": config.require_signature,
            "rules": rules_text(config.rules),
        }
        super().__init__(*args, initial=initial, **kwargs)

    def clean_rules(self):
        try:
            return parse_rules(self.cleaned_data.get("rules") or "")
        except RuleError as exc:
            raise forms.ValidationError(str(exc)) from None
