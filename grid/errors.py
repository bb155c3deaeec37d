"""Domain errors. Services raise them; config.api turns them into HTTP answers."""


class DomainError(Exception):
    """A rule of the domain refused the request. `status` is the HTTP status it maps to."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    status = 422
    code = "invalid"


class Conflict(DomainError):
    """The move is not allowed from the current state, or another user got there first."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    """The object is in the user's areas, but their role may not do this to it."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class OutsideScope(DomainError):
    """The object exists but lies outside the acting user's areas: answered as not found."""

    status = 404
    code = "not_found"
