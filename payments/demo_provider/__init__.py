"""The demo provider: Stripe, offline, when no Stripe key is set.

It is the project's Stripe emulator (`stripe_emulator`) with its objects in the database
(`store`), reached by the real `StripeGateway` through the stripe library (`gateway`), so the
demo runs production's code path: the emulator answers the API calls and sends Stripe's real
event sequences, signed with the demo webhook secret, to the same webhook intake. Only the pages
Stripe would show are the demo's own: the checkout page (`checkout`, Stripe's test cards) and
the portal page. `renewals` bills a subscription's next period on demand (`manage.py
demo_renew`). Settings refuse to turn it on while a Stripe key is set, and its ids say `demo`
(`cs_demo_...`, `sub_demo_...`).
"""
