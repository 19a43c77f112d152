"""The intake endpoints document the merge policy and Idempotency-Key in the OpenAPI text."""

from leadflow.api.testing import client_for
from leadflow.leads import merge


def test_the_merge_policy_is_in_the_openapi_description(world):
    schema = client_for(world.marketing).get("/api/openapi.json").json()
    for path in ("/api/leads", "/api/leads/batch"):
        text = schema["paths"][path]["post"]["description"]
        assert "Idempotency-Key" in text
        # Every rule of the policy, word for word (each on one line).
        assert "6. Lifecycle and score fields (stage, owner, scores) are never written by a " \
               "merge: only the lifecycle moves a lead." in text
        assert text.count("\n1. ") == 1 and "\n7. " not in text
    assert "Person and company fields take the newest" in merge.__doc__
    responses = schema["paths"]["/api/leads/batch"]["post"]["responses"]
    assert "application/problem+json" in responses["422"]["content"]
