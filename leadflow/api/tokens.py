"""Your own API tokens: list them, revoke one. Tokens are created with `leadflow token`."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from leadflow.accounts.models import ApiToken
from leadflow.api.schemas import ProblemOut, TokenOut

router = Router(tags=["tokens"])


def _token_out(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "hint": token.hint,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "revoked": token.revoked_at is not None,
    }


@router.get("/tokens", response=list[TokenOut])
def list_tokens(request: HttpRequest):
    """Your tokens, newest first. Only a hint of each is kept: the token itself is not."""
    return [_token_out(t) for t in request.auth.api_tokens.order_by("-created_at", "-id")]


@router.delete("/tokens/{token_id}", response={204: None, 404: ProblemOut})
def revoke_token(request: HttpRequest, token_id: int):
    """Revoke one of your tokens; it is refused from then on. Revoking twice is harmless."""
    token = get_object_or_404(ApiToken, pk=token_id, user=request.auth)
    token.revoke()
    return Status(204, None)
