from django.db import migrations, models

# The demo campaign's copy as of this migration (a migration keeps its own, frozen copy).
DEMO_SLUG = "support-us"
DEMO_WHY = (
    "Our reporting is free for everyone to read, with no paywall. Readers' contributions pay "
    "for the reporters, the fact-checking and the court and council meetings we sit through."
)


def demo_why_fill(apps, schema_editor):
    """Give a demo seeded before this field its short copy (nobody could have set it yet)."""
    Campaign = apps.get_model("campaigns", "Campaign")
    Campaign.objects.filter(slug=DEMO_SLUG, why_it_matters="").update(why_it_matters=DEMO_WHY)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_appeal_once_per_view_live_counter"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="why_it_matters",
            field=models.CharField(
                blank=True,
                help_text="One or two sentences above the amounts on the support page: what a "
                "reader's money does. At most 240 characters. Empty: the body's first paragraph, "
                "shortened.",
                max_length=240,
                verbose_name="why it matters",
            ),
        ),
        migrations.RunPython(demo_why_fill, migrations.RunPython.noop),
    ]
