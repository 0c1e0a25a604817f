from __future__ import annotations

from features.notifications.schema import Message


def welcome(name: str, email: str) -> Message:
    return Message(
        subject="Welcome to Rampart",
        body=(f"Hello {name},\n\n"
              f"your Rampart account for {email} is ready. We will write to you here when an"
              " order of yours is confirmed, paid, shipped or refunded.\n\n"
              "The Rampart team"))
