"""The demo provider: a stand-in for Stripe when no Stripe key is set.

It keeps Stripe-shaped objects (checkout sessions, payment intents, charges, balance transactions,
subscriptions, invoices) in `DemoObject` rows, answers the same gateway calls Stripe would, and
delivers Stripe-shaped events signed with the demo webhook secret to the webhook intake, so the
ledger is written by exactly the code that handles real Stripe events. Settings refuse to turn it
on while a Stripe key is set.

`store` keeps the objects and delivers the events, `checkout` is the local checkout page's logic,
`gateway` answers the gateway interface of `payments.gateway`, and `renewals` bills a
subscription's next period on demand (`manage.py demo_renew`).
"""
