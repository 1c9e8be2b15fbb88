"""The served OpenAPI schema: every error documented in the one shape the API answers with."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["insufficient_funds"], description="machine-readable code")
    message: str = Field(description="what went wrong, for a human")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorDetail


_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_ERROR_RESPONSE = {
    "description": 'An error: `{"error": {"code", "message", "details"}}`',
    "content": {"application/json": {"schema": _ERROR_REF}},
}


def install_openapi(app: FastAPI) -> None:
    """FastAPI documents its own 422 shape; ours differs, so describe ours everywhere."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in (("ErrorDetail", ErrorDetail), ("ErrorResponse", ErrorResponse)):
            definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
            definition.pop("$defs", None)
            components[name] = definition
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = _ERROR_RESPONSE
                responses.setdefault("default", _ERROR_RESPONSE)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
