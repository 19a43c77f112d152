"""Who a lead is: the keys intake, import and activity matching recognise a person by.

One e-mail address can be written many ways. `email_key` is the form leads are matched on:

- the whole address in lower case: mail systems treat the domain, and in practice every
  mailbox provider the local part, without regard to case;
- `+tag` sub-addresses removed only at providers that document them as the same mailbox
  (`PLUS_ADDRESSING_DOMAINS`). Elsewhere `jo+sales@firm.com` may be a different mailbox, so
  folding it could merge two people: not safe, not done.

Dots in Gmail local parts are left alone: they are equally ignored by Gmail, but forms and CRMs
rarely vary them, and a wrong merge costs more than a missed one.
"""

from __future__ import annotations

PLUS_ADDRESSING_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "yahoo.com",
        "zoho.com",
    }
)


def email_key(email: str | None) -> str:
    """The matching key of an address ('' for none): lower case, and without a `+tag` at a
    provider where the tag never names another mailbox."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at:
        return email
    if domain in PLUS_ADDRESSING_DOMAINS and "+" in local:
        local = local.split("+", 1)[0]
    return f"{local}@{domain}"
