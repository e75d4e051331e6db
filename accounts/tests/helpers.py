"""Assertions shared by the accounts tests."""


def assert_error(response, status: int, code: str) -> dict:
    """The response is `status` in the one error shape with this `code`; returns the error."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}, error
    assert error["code"] == code, error
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error
