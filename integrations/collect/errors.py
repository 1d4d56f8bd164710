class CollectError(Exception):
    """A refusal with the HTTP status and the {"code", "message"} body the SDKs parse."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
