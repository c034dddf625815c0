import factory

from campaigns.models import Campaign, Variant

AMOUNTS = {
    "monthly": {"presets": [500, 1000, 2000], "default": 1000},
    "one_off": {"presets": [1000, 2500], "default": 2500},
}


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    status = Campaign.Status.LIVE
    currency = "EUR"
    amounts = factory.LazyFunction(lambda: {k: dict(v) for k, v in AMOUNTS.items()})
    headline = "Support us"
    body = "We need your help now."
    counter_text = "{supporters} readers like you have already stepped up"


class VariantFactory(factory.django.DjangoModelFactory[Variant]):
    class Meta:
        model = Variant

    campaign = factory.SubFactory(CampaignFactory)
    key = factory.Sequence(lambda n: f"v{n}")
    weight = 50
