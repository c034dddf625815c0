"""Prize draws: one entry per person, confirmation, eligibility, commit-reveal, re-verification,
reserves, claims, the audit log."""

import json
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from antiabuse.email_address import email_normalise
from surveys import proof
from surveys.models import ConsentRecord, DrawAuditEvent, DrawPlacement, Entry, PrizeDraw
from surveys.selectors import draw_proof_bundle
from surveys.services import draws as draw_services
from surveys.services.entries import (
    Consents,
    EntryError,
    entry_confirm,
    entry_create,
    placement_notification_mail_send,
)
from surveys.tasks import (
    draws_advance,
    entry_confirmation_send,
    entry_duplicate_notice_send,
    placement_notification_send,
)
from surveys.tests.factories import (
    draw_closed,
    draw_create,
    entries_confirmed,
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)
from surveys.tokens import claim_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_rate_limits")]

CONSENTS = Consents(
    marketing=True,
    marketing_wording="Send me news.",
    publish_name=False,
    publish_wording="Publish my name.",
)


@pytest.fixture
def draw():
    return draw_create(survey=survey_create(), prizes=(1, 1), reserves_count=2)


def enter(draw, email="Reader@Example.com", **overrides):
    fields = {"country": "GB", "age_confirmed": True, "consents": CONSENTS, **overrides}
    return entry_create(draw=draw, email=email, **fields)


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("Jane.Doe@Example.com", "jane.doe@example.com"),
        ("jane.doe+prize@gmail.com", "janedoe@gmail.com"),
        ("J.A.N.E.DOE@googlemail.com", "janedoe@gmail.com"),
        ("jane+tag@outlook.com", "jane@outlook.com"),
        ("jane.doe+tag@outlook.com", "jane.doe@outlook.com"),
        ("jane+tag@example.com", "jane@example.com"),
        ("  JANE@ICLOUD.COM ", "jane@icloud.com"),
    ],
)
def test_email_normalisation(address, normalised):
    assert email_normalise(address) == normalised


def test_one_entry_per_person_even_with_dots_tags_and_case(
    draw, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        first = enter(draw, email="jane.doe@gmail.com")
        again = enter(draw, email="Jane.Doe+win@GoogleMail.com")

    assert again.pk == first.pk
    assert Entry.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            draw=draw,
            public_id="x1",
            email="x@y.z",
            email_normalised=first.email_normalised,
            terms=first.terms,
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_entries_at_the_same_moment_make_one(draw):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit(address):
        try:
            barrier.wait(timeout=5)
            results.append(enter(draw, email=address).pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=(a,))
        for a in ("ann.lee@gmail.com", "annlee+x@gmail.com")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 2
    assert len(set(results)) == 1
    assert Entry.objects.filter(draw=draw).count() == 1


def test_entry_records_consents_with_wording_and_terms_version(
    draw, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        entry = enter(draw)

    assert len(callbacks) == 1  # the confirmation mail, after commit
    consents = {c.kind: c for c in ConsentRecord.objects.filter(entry=entry)}
    assert consents["terms"].granted and "Terms v1" in consents["terms"].wording
    assert consents["marketing"].granted and consents["marketing"].wording == "Send me news."
    assert not consents["publish_name"].granted
    assert consents["publish_name"].wording == "Publish my name."
    assert consents["marketing"].recorded_at is not None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"age_confirmed": False}, "age_confirmed", "You must be 18 or older"),
        ({"country": "US"}, "country", "not open to residents"),
        ({"email": "boss@staff.example"}, "email", "may not enter"),
        ({"email": "boss@mail.staff.example"}, "email", "may not enter"),
    ],
)
def test_eligibility_is_checked_at_entry(overrides, field, message):
    draw = draw_create(
        survey=survey_create(), allowed_countries="GB, ie", excluded_email_domains="staff.example"
    )
    email = overrides.pop("email", "reader@example.com")

    with pytest.raises(EntryError) as error:
        enter(draw, email=email, **overrides)

    assert error.value.field == field
    assert message in str(error.value)
    assert not Entry.objects.exists()


def test_entry_refused_when_the_draw_is_not_open():
    draw = draw_create(survey=survey_create(), opened=False)

    with pytest.raises(EntryError, match="not open for entries"):
        enter(draw)


def test_confirmation_mail_link_shows_a_button_and_only_post_confirms(
    client, draw, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        entry = enter(draw)
    entry_confirmation_send(entry.pk)
    assert len(mail.outbox) == 1
    found = re.search(r"https?://\S+/surveys/entry/confirm/\S+/", str(mail.outbox[0].body))
    assert found
    link = found.group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = client.get("/" + path)
    assert page.status_code == 200
    assert "Confirm my entry" in page.content.decode()
    entry.refresh_from_db()
    assert entry.status == Entry.Status.PENDING

    confirmed = client.post("/" + path, follow=True)
    assert "Your entry is confirmed" in confirmed.content.decode()
    entry.refresh_from_db()
    assert entry.status == Entry.Status.CONFIRMED
    assert client.post("/" + path).status_code == 302  # confirming twice is harmless
    assert client.get("/surveys/entry/confirm/forged-token/").status_code == 404


def test_confirmation_after_close_does_not_count(draw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        entry = enter(draw)
    draw_closed(draw=draw)

    with pytest.raises(EntryError, match="closed before this entry was confirmed"):
        entry_confirm(public_id=entry.public_id)


def test_commitment_published_at_open_and_seed_revealed_only_after_the_draw(client, draw):
    assert draw.commitment == proof.commitment_of(draw.seed)
    page = client.get(f"/surveys/reader-survey/draw/{draw.pk}/").content.decode()
    assert draw.commitment in page
    assert draw.seed not in page
    assert client.get(f"/surveys/reader-survey/draw/{draw.pk}/proof.json").status_code == 404

    entries_confirmed(draw=draw, count=10)
    draw_closed(draw=draw)
    draw_services.draw_run(draw_id=draw.pk)

    page = client.get(f"/surveys/reader-survey/draw/{draw.pk}/").content.decode()
    assert draw.seed in page
    bundle = client.get(f"/surveys/reader-survey/draw/{draw.pk}/proof.json").json()
    assert bundle["seed"] == draw.seed
    assert proof.bundle_verify(bundle) == []
    assert "@" not in json.dumps(bundle)  # anonymised ids only


def test_close_freezes_confirmed_entries_with_a_fingerprint(draw):
    entries = entries_confirmed(draw=draw, count=5)
    Entry.objects.filter(pk=entries[0].pk).update(status=Entry.Status.DISQUALIFIED)

    closed = draw_closed(draw=draw)

    ids = [e.public_id for e in entries[1:]]
    assert closed.entries_count == 4
    assert closed.entries_fingerprint == proof.fingerprint_of(ids)
    assert DrawAuditEvent.objects.filter(draw=draw, action="closed").exists()


def test_draw_ranks_by_hmac_and_places_winners_then_reserves(
    draw, django_capture_on_commit_callbacks
):
    entries = entries_confirmed(draw=draw, count=20)
    draw_closed(draw=draw)

    with django_capture_on_commit_callbacks() as callbacks:
        draw_services.draw_run(draw_id=draw.pk)

    key = bytes.fromhex(draw.seed)
    import hmac

    expected = sorted(
        (e.public_id for e in entries), key=lambda i: hmac.new(key, i.encode(), "sha256").digest()
    )
    placements = list(DrawPlacement.objects.filter(draw=draw).select_related("entry", "prize"))
    assert [p.entry.public_id for p in placements] == expected[:4]
    assert [p.status for p in placements] == ["notified", "notified", "reserve", "reserve"]
    assert [p.prize.name if p.prize else None for p in placements] == [
        "Prize 1",
        "Prize 2",
        None,
        None,
    ]
    assert len(callbacks) == 2  # the two winners are notified after commit
    for placement in placements:
        placement_notification_send(placement.pk)  # what the worker runs; reserves get nothing
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [placements[0].entry.email, placements[1].entry.email]
    )


def test_a_finished_draw_can_never_run_again(draw):
    entries_confirmed(draw=draw, count=3)
    draw_closed(draw=draw)
    draw_services.draw_run(draw_id=draw.pk)

    with pytest.raises(draw_services.DrawError, match="can never run again"):
        draw_services.draw_run(draw_id=draw.pk)
    # Even bypassing the state check, the database refuses a second set of places.
    with pytest.raises(IntegrityError), transaction.atomic():
        first = DrawPlacement.objects.filter(draw=draw).earliest("rank")
        DrawPlacement.objects.create(
            draw=draw, rank=first.rank, entry=first.entry, status="reserve"
        )
    assert DrawAuditEvent.objects.filter(draw=draw, action="drawn").count() == 1


def test_draw_refuses_when_entries_changed_after_close(draw):
    entries = entries_confirmed(draw=draw, count=3)
    draw_closed(draw=draw)
    Entry.objects.filter(pk=entries[0].pk).update(status=Entry.Status.DISQUALIFIED)

    with pytest.raises(draw_services.DrawError, match="changed since the draw closed"):
        draw_services.draw_run(draw_id=draw.pk)
    assert not DrawPlacement.objects.exists()


def test_public_randomness_is_mixed_in_and_only_once_before_close(draw):
    draw_services.draw_public_randomness_set(
        draw_id=draw.pk, value="abc123", source="drand round 1"
    )
    with pytest.raises(draw_services.DrawError, match="already has"):
        draw_services.draw_public_randomness_set(draw_id=draw.pk, value="other", source="")
    entries_confirmed(draw=draw, count=30)
    draw_closed(draw=draw)
    with pytest.raises(draw_services.DrawError, match="before the draw closes"):
        draw_services.draw_public_randomness_set(draw_id=draw.pk, value="late", source="")
    draw_services.draw_run(draw_id=draw.pk)
    draw.refresh_from_db()

    bundle = draw_proof_bundle(draw=draw)
    assert bundle["public_randomness"] == "abc123"
    assert proof.bundle_verify(bundle) == []
    without = proof.ranking_top(key=bytes.fromhex(draw.seed), entry_ids=bundle["entries"], count=4)
    assert without != bundle["ranking"]  # the value changed the outcome (30 entries: 4 places)


def drawn_bundle(draw, tmp_path, count=50):
    entries_confirmed(draw=draw, count=count)
    draw_closed(draw=draw)
    draw_services.draw_run(draw_id=draw.pk)
    draw.refresh_from_db()
    bundle = draw_proof_bundle(draw=draw)
    return bundle


def test_verify_draw_command_accepts_the_bundle_alone(draw, tmp_path, capsys):
    bundle = drawn_bundle(draw, tmp_path)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))

    call_command("verify_draw", str(path))

    assert "The draw verifies: 50 entries, 4 places" in capsys.readouterr().out
    # The same check with only Python's standard library, outside this project.
    import subprocess
    import sys

    from django.conf import settings

    outside = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-I", str(settings.BASE_DIR / "surveys" / "proof.py"), str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (outside.returncode, outside.stdout.strip()) == (0, "verified")
    bundle["entries"][0] = "ffffffffffffffff"
    path.write_text(json.dumps(bundle))
    outside = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-I", str(settings.BASE_DIR / "surveys" / "proof.py"), str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert outside.returncode == 1
    assert "fingerprint" in outside.stdout


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda b: b["entries"].__setitem__(7, "0000000000000000"), "fingerprint"),
        (lambda b: b.__setitem__("seed", "00" * 32), "commitment"),
        (lambda b: b["ranking"].reverse(), "ranking"),
        (lambda b: b["entries"].append(b["entries"][0]), "more than once"),
    ],
)
def test_verify_draw_fails_when_one_thing_is_altered(draw, tmp_path, tamper, problem):
    bundle = drawn_bundle(draw, tmp_path)
    tamper(bundle)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))

    with pytest.raises(CommandError, match=problem):
        call_command("verify_draw", str(path))


def test_verify_draw_explains_an_unreadable_bundle(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_draw", str(path))
    path.write_text("{}")
    with pytest.raises(CommandError, match="incomplete or malformed"):
        call_command("verify_draw", str(path))


def run_small_draw(draw, count=6):
    entries_confirmed(draw=draw, count=count)
    draw_closed(draw=draw)
    draw_services.draw_run(draw_id=draw.pk)
    return list(DrawPlacement.objects.filter(draw=draw).order_by("rank"))


def test_winner_claims_with_the_one_time_link(client, draw):
    winner = run_small_draw(draw)[0]
    token = claim_token(placement_id=winner.pk, nonce=winner.claim_nonce)

    page = client.get(f"/surveys/prize/claim/{token}/")
    assert "Claim my prize" in page.content.decode()
    missing = client.post(f"/surveys/prize/claim/{token}/", {"first_name": ""})
    assert missing.status_code == 400
    assert "Please give your first name." in missing.content.decode()

    claim = {"first_name": "Ann", "county": "Kent", "publish_name": "on"}
    client.post(f"/surveys/prize/claim/{token}/", claim)

    winner.refresh_from_db()
    assert winner.status == DrawPlacement.Status.CLAIMED
    assert (
        "already been claimed"
        in client.post(
            f"/surveys/prize/claim/{token}/", {"first_name": "X", "county": "Y"}
        ).content.decode()
    )
    assert client.get("/surveys/prize/claim/forged/").status_code == 404
    winners = client.get(f"/surveys/reader-survey/draw/{draw.pk}/").content.decode()
    assert "Ann, Kent" in winners


def test_winner_who_objects_is_not_named(client, draw):
    winner = run_small_draw(draw)[0]
    draw_services.placement_claim(
        placement_id=winner.pk,
        nonce=winner.claim_nonce,
        first_name="Bo",
        county="Fife",
        publish_name=False,
    )

    page = client.get(f"/surveys/reader-survey/draw/{draw.pk}/").content.decode()

    assert "Bo" not in page
    assert "asked not to be named" in page


def test_unclaimed_prize_passes_to_the_next_reserve_and_claim_expires(
    draw, django_capture_on_commit_callbacks
):
    placements = run_small_draw(draw)
    winner, _, first_reserve, _ = placements
    later = timezone.now() + timedelta(days=draw.claim_days, minutes=1)
    DrawPlacement.objects.filter(pk=placements[1].pk).update(
        claim_expires_at=later + timedelta(days=1)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        assert draw_services.draw_claims_expire(draw_id=draw.pk, now=later) == 1
    assert len(callbacks) == 1

    winner.refresh_from_db()
    first_reserve.refresh_from_db()
    assert winner.status == DrawPlacement.Status.EXPIRED
    assert first_reserve.status == DrawPlacement.Status.NOTIFIED
    assert first_reserve.prize_id == winner.prize_id
    placement_notification_send(first_reserve.pk)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [first_reserve.entry.email]
    with pytest.raises(draw_services.DrawError, match="time to claim"):
        draw_services.placement_claim(
            placement_id=winner.pk,
            nonce=winner.claim_nonce,
            first_name="A",
            county="B",
            publish_name=True,
        )
    actions = list(DrawAuditEvent.objects.filter(draw=draw).values_list("action", flat=True))
    assert actions[-3:] == ["claim_expired", "reserve_promoted", "winner_notified"]


def test_ineligible_winner_passes_the_prize_on_and_draw_completes(draw):
    winner, runner_up, reserve, last = run_small_draw(draw)
    draw_services.placement_mark_ineligible(
        placement_id=winner.pk, reason="under age", actor="editor"
    )
    reserve.refresh_from_db()
    assert reserve.status == DrawPlacement.Status.NOTIFIED

    for placement in (runner_up, reserve):
        placement.refresh_from_db()
        draw_services.placement_claim(
            placement_id=placement.pk,
            nonce=placement.claim_nonce,
            first_name="A",
            county="B",
            publish_name=True,
        )

    draw.refresh_from_db()
    last.refresh_from_db()
    assert draw.status == PrizeDraw.Status.COMPLETE
    assert last.status == DrawPlacement.Status.UNUSED


def test_reminder_is_sent_once_before_the_claim_window_ends(draw):
    winner = run_small_draw(draw)[0]
    soon = winner.claim_expires_at - timedelta(days=1)

    due = draw_services.placements_due_reminder(now=soon, remind_before=timedelta(days=3))
    assert winner.pk in due
    assert placement_notification_mail_send(placement_id=winner.pk, reminder=True)
    assert not placement_notification_mail_send(placement_id=winner.pk, reminder=True)
    assert "reminder" in mail.outbox[0].body.lower()
    assert winner.pk not in draw_services.placements_due_reminder(
        now=soon, remind_before=timedelta(days=3)
    )


def test_beat_task_closes_and_runs_a_draw_whose_entry_period_ended(draw):
    entries_confirmed(draw=draw, count=3)
    PrizeDraw.objects.filter(pk=draw.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    draws_advance()

    draw.refresh_from_db()
    assert draw.status == PrizeDraw.Status.DRAWN
    assert DrawPlacement.objects.filter(draw=draw).count() == 3


def test_audit_log_is_append_only():
    draw = draw_create(survey=survey_create())
    event = DrawAuditEvent.objects.filter(draw=draw).get()
    assert event.action == "opened"

    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        DrawAuditEvent.objects.filter(draw=draw).update(action="x")
    with pytest.raises(PermissionError):
        DrawAuditEvent.objects.filter(draw=draw).delete()


@pytest.mark.postgres
def test_database_refuses_to_change_the_audit_log():
    draw = draw_create(survey=survey_create())

    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE surveys_drawauditevent SET action = 'x' WHERE draw_id = %s", [draw.pk]
        )
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM surveys_drawauditevent WHERE draw_id = %s", [draw.pk])


def test_staff_adds_public_randomness_in_the_admin_once(client, draw):
    from django.contrib.auth.models import User

    admin_user = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin_user)
    url = f"/admin/surveys/prizedraw/{draw.pk}/change/"
    form = {
        "title": draw.title,
        "public_randomness": "drand-round-123-value",
        "public_randomness_source": "drand round 123",
    }
    for inline in ("prizes", "terms", "placements", "audit_events"):
        form.update(
            {
                f"{inline}-TOTAL_FORMS": "0",
                f"{inline}-INITIAL_FORMS": "0",
                f"{inline}-MIN_NUM_FORMS": "0",
                f"{inline}-MAX_NUM_FORMS": "1000",
            }
        )

    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    draw.refresh_from_db()
    assert draw.public_randomness == "drand-round-123-value"
    event = DrawAuditEvent.objects.get(draw=draw, action="public_randomness_added")
    assert event.actor == "root"
    assert 'name="public_randomness"' not in client.get(url).content.decode()  # now read-only


def test_beat_opens_a_draw_when_its_entry_period_starts():
    draw = draw_create(survey=survey_create(), opened=False)

    draws_advance()

    draw.refresh_from_db()
    assert draw.status == PrizeDraw.Status.OPEN
    assert draw.commitment == proof.commitment_of(draw.seed)


def test_a_draw_without_entries_completes_with_nobody_placed():
    draw = draw_create(survey=survey_create())
    draw_closed(draw=draw)

    draw_services.draw_run(draw_id=draw.pk)

    draw.refresh_from_db()
    assert draw.status == PrizeDraw.Status.COMPLETE
    assert not DrawPlacement.objects.exists()
    assert proof.bundle_verify(draw_proof_bundle(draw=draw)) == []


def test_a_winner_notice_delivered_twice_is_mailed_once(draw):
    winner = run_small_draw(draw)[0]

    placement_notification_send(winner.pk)
    placement_notification_send(winner.pk)  # the broker may deliver a task again

    assert len(mail.outbox) == 1
    winner.refresh_from_db()
    assert winner.notice_sent_at is not None
    # Claimed before the send, with a Message-ID a crash's resend would repeat (config.mail_once)
    assert winner.notice_claimed_at is not None
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<claim-notice.{winner.pk}@")


def test_entering_again_once_confirmed_mails_the_truth_to_the_address(
    draw, django_capture_on_commit_callbacks, settings
):
    settings.SURVEYS_CONFIRMATION_RESEND_SECONDS = 0
    with django_capture_on_commit_callbacks():
        entry = enter(draw, email="first@example.com")
    entry_confirm(public_id=entry.public_id)

    with django_capture_on_commit_callbacks() as callbacks:
        again = enter(draw, email="First@Example.com")

    assert again.pk == entry.pk and Entry.objects.count() == 1
    assert len(callbacks) == 1  # the page's "an e-mail goes to the address" holds
    entry_duplicate_notice_send(entry.pk)
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == ["first@example.com"]
    assert "It is in the draw already" in notice.body
    assert f"Your entry number is {entry.public_id}." in notice.body


def test_the_entry_page_is_the_same_for_a_new_and_an_entered_address(client, draw):
    def post(address):
        data = {
            "email": address,
            "country": "GB",
            "age_confirmed": "on",
            "accept_terms": "on",
        }
        page = client.post(f"/surveys/{draw.survey.slug}/draw/enter/", data)
        assert page.status_code == 200
        return page.content.decode()

    entry_confirm(public_id=enter(draw, email="entered@example.com").public_id)

    assert post("entered@example.com") == post("new@example.com")
    assert "goes to the address you gave" in post("another@example.com")
