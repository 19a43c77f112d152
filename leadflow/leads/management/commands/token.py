"""`leadflow token USERNAME`: create an API token and print it, and only it, on stdout.

export LEADFLOW_TOKEN=$(leadflow token ana --name crm-sync)
leadflow token ana --revoke lf_AbCdEfG
"""

from django.core.management.base import BaseCommand, CommandError

from leadflow.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create an API token for a user and print it (only its hash is stored), or revoke one."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for (default: cli).")
        parser.add_argument(
            "--revoke",
            metavar="HINT",
            help="Revoke the user's token that starts with HINT (its hint, or the whole token).",
        )

    def handle(self, *args, username: str, name: str, revoke: str | None, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"there is no user named '{username}'")
        if revoke:
            self._revoke(user, revoke)
            return
        if not user.is_active:
            raise CommandError(f"user '{username}' is inactive: a token would be refused")
        token, raw = ApiToken.issue(user, name=name)
        # stdout carries the token alone, so `$(leadflow token …)` captures exactly it.
        self.stdout.write(raw)
        self.stderr.write(
            f"Token {token.hint}… created for {username}. It is shown only now: keep it safe."
        )

    def _revoke(self, user: User, hint: str) -> None:
        tokens = ApiToken.objects.active().filter(user=user)
        # A hint is the token's first 10 characters; anything longer can only be the token.
        if len(hint) > 10:
            tokens = tokens.filter(key_hash=ApiToken.hash(hint))
        else:
            tokens = tokens.filter(hint__startswith=hint)
        found = list(tokens)
        if not found:
            raise CommandError(f"{user.username} has no active token matching '{hint}'")
        if len(found) > 1:
            raise CommandError(
                f"'{hint}' matches {len(found)} tokens of {user.username}; give more characters"
            )
        found[0].revoke()
        self.stderr.write(f"Token {found[0].hint}… of {user.username} revoked.")
