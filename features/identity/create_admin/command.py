"""`rampart users create-admin --email E --password P`: the only way to make an admin."""

from __future__ import annotations

import asyncio

import click

from features.identity.register_user.handler import create_user
from features.identity.register_user.schema import RegisterUser
from shared.db import Database
from shared.http.problems import Problem


@click.group(help="Manage user accounts.")
def users() -> None:
    pass


@users.command("create-admin", help="Create an administrator account.")
@click.option("--email", required=True)
@click.option("--password", required=True, help="8-128 characters.")
@click.option("--name", default="Administrator", show_default=True)
@click.pass_obj
def create_admin(obj: dict, email: str, password: str, name: str) -> None:
    import msgspec

    try:  # the same rules as registration over HTTP
        msgspec.convert({"email": email, "password": password, "name": name}, RegisterUser)
    except msgspec.ValidationError as exc:
        raise click.ClickException(str(exc)) from None

    async def run() -> None:
        db = Database(obj["database_url"], min_size=1, max_size=1)
        await db.open()
        try:
            user = await create_user(db, email, password, name, role="admin")
        finally:
            await db.close()
        click.echo(f"created admin {user.email} ({user.id})")

    try:
        asyncio.run(run())
    except Problem as exc:
        raise click.ClickException(exc.detail) from None
