"""Every write of the surveys app, as keyword-only functions named `<thing>_<verb>`."""
