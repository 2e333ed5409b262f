"""Messages to citizens beyond the security code: the confirmation of a choice, sent
to the contact on record, and the acknowledgement of a proxy application, sent to
the address the applicant gave.

Neither names the person or holds their NHS number: a message can be read by
whoever holds the phone or mailbox.
"""

from __future__ import annotations

from ndoo.db import Database
from ndoo.identity.codes import SERVICE, channel_for
from ndoo.identity.demographics import contact
from ndoo.identity.notify import EMAIL, SMS, Notifier

PHONE = "0300 303 5678"


def choice_confirmation(allowed: bool) -> tuple[str, str]:
    """Subject and body confirming a choice that was just saved."""
    answer = "allow" if allowed else "do not allow"
    body = (
        f"{SERVICE}: your choice has been saved. You chose: I {answer} my confidential "
        "patient information to be used for research and planning. This does not affect "
        "your individual care. If you did not make this choice, call "
        f"{PHONE} (Monday to Friday, 9am to 5pm)."
    )
    return f"{SERVICE}: your choice has been saved", body


def proxy_acknowledgement(reference: str) -> tuple[str, str]:
    """Subject and body telling a proxy their application arrived."""
    body = (
        f"{SERVICE}: we have received your application to make a choice for someone "
        f"else. Your reference is {reference}. Nothing changes until our staff have "
        "checked it and your evidence; we will contact you. Questions: call "
        f"{PHONE} (Monday to Friday, 9am to 5pm)."
    )
    return f"{SERVICE}: application {reference} received", body


def send_to_record(
    db: Database,
    notifier: Notifier,
    *,
    nhs_number: str,
    preferred: str,
    subject: str,
    body: str,
    reference: str,
) -> str | None:
    """Send a message to the contact on the person's record (``preferred`` channel when
    held, else the other); the channel used, or ``None`` if none is on record."""
    found = contact(db, nhs_number)
    channel = channel_for(found, preferred, notifier.channels)
    address = found.address(channel) if found is not None and channel is not None else None
    if channel is None or address is None:
        return None
    if channel == SMS:
        notifier.send_sms(address, body, reference=reference)
    else:
        notifier.send_email(address, subject, body, reference=reference)
    return channel


def send_to_given(
    notifier: Notifier,
    *,
    email: str | None,
    phone: str | None,
    subject: str,
    body: str,
    reference: str,
) -> str | None:
    """Send to an address someone gave about themselves (email first); the channel used,
    or ``None`` when the notifier can reach neither."""
    if email and EMAIL in notifier.channels:
        notifier.send_email(email, subject, body, reference=reference)
        return EMAIL
    if phone and SMS in notifier.channels:
        notifier.send_sms(phone, body, reference=reference)
        return SMS
    return None
