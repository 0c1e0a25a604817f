"""welcome_user: on UserRegistered, remember the recipient and write the welcome notification."""
