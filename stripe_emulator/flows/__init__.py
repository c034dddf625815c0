"""Stripe's flows, one module per family: what happens at Stripe after an API call or without
one (a reader paying, a renewal, a bank returning a debit), with the events Stripe sends."""
