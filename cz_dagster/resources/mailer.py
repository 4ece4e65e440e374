"""SMTP resource: host, port, STARTTLS or SSL, optional login; the password comes from the environment."""

from __future__ import annotations

import os
import smtplib
import ssl

from dagster import ConfigurableResource, EnvVar

from cz_dagster.sync.emails import Email


class SmtpResource(ConfigurableResource):
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    sender: str = "cz-dagster@localhost"
    timeout_seconds: float = 30.0
    dagster_url: str = "http://127.0.0.1:3000"

    def send(self, email: Email, recipients: list[str]) -> None:
        if not recipients:
            return
        message = email.message(self.sender, recipients)
        context = ssl.create_default_context()
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_seconds,
                                                   context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


def smtp_from_env() -> SmtpResource:
    """The mailer as configured by CZ_SMTP_* (the password stays an environment reference, never a value in the
    Dagster UI's resource config)."""
    env = os.environ
    return SmtpResource(
        host=env.get("CZ_SMTP_HOST", "127.0.0.1"), port=int(env.get("CZ_SMTP_PORT", "25")),
        security=env.get("CZ_SMTP_SECURITY", "none"), username=env.get("CZ_SMTP_USERNAME") or None,
        password=EnvVar("CZ_SMTP_PASSWORD") if env.get("CZ_SMTP_PASSWORD") else None,
        sender=env.get("CZ_SMTP_SENDER", "cz-dagster@localhost"),
        dagster_url=env.get("CZ_DAGSTER_URL", "http://127.0.0.1:3000"))
