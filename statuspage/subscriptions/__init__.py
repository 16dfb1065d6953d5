"""Status page subscriptions: visitors hear of public incident updates and maintenance notices.

- `services`: subscribe by email (double opt-in) or webhook (SSRF-checked), confirm, unsubscribe.
- `tokens`: the signed confirm and unsubscribe tokens in links (never guessable, never stored).
- `public_events`: an outbox event → a `PublicNotice` built only from public fields, or nothing.
- `fanout`: one delivery row per matching subscriber and event, unique, from the after-commit hook
  and again from the beat sweep (so a crash after commit loses nothing and nothing doubles).
- `delivery`: claim, send (`mail`, `webhook`), back off, give up, reset stuck rows.
- `wiring`, `tasks`, `forms`, `views`, `urls`: the glue.

docs/statuspage.md ("Subscriptions") explains the flows and the webhook contract.
"""
