from django import forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use it, e.g. 'grafana' or 'deploy script'.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. grafana"}),
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires in (days)",
        help_text="Leave empty for a token that lasts until revoked.",
    )
