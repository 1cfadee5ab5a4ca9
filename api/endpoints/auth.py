"""Signing in, who am I, and creating users (SPEC §6: auth/token, me, users)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.auth import ROLES, BadCredentials, InvalidUser, LoginThrottled, UserExists
from api.context import auth_of, ledger_of
from api.errors import ApiProblem
from api.idempotent import idempotent
from api.passwords import MAX_PASSWORD, MIN_PASSWORD, password_problem
from api.security import caller, requires
from ledger.errors import NotFound

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Signing in and users")


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(
        required=True, validate=validate.Length(min=1, max=256), load_only=True
    )


class TokenResponse(Schema):
    token = fields.String(required=True)
    role = fields.String(required=True)
    account_id = fields.String(allow_none=True)
    merchant_id = fields.String(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)


class Me(Schema):
    username = fields.String(allow_none=True)
    role = fields.String(required=True)
    account_id = fields.String(allow_none=True)
    merchant_id = fields.String(allow_none=True)


class NewUser(Schema):
    username = fields.String(required=True, validate=validate.Length(min=3, max=64))
    password = fields.String(
        required=True,
        validate=validate.Length(min=MIN_PASSWORD, max=MAX_PASSWORD),
        load_only=True,
        metadata={"description": "not easy to guess: refused with a reason otherwise"},
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    account_id = fields.String(load_default=None, allow_none=True)
    merchant_id = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _strong_password(self, data, **kwargs):
        problem = password_problem(data["password"], data["username"])
        if problem:
            raise ValidationError(problem, "password")


class UserOut(Schema):
    username = fields.String(required=True)
    role = fields.String(required=True)


@blp.route("/auth/token")
class Tokens(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    def post(self, body):
        """Sign in with a username and password; returns a bearer token."""
        try:
            issued = auth_of().authenticate(body["username"], body["password"], request.remote_addr)
        except LoginThrottled as error:
            raise ApiProblem(
                429,
                "too_many_requests",
                "too many failed sign-ins; wait and try again",
                headers={"Retry-After": str(error.retry_after_seconds)},
            ) from None
        except BadCredentials:
            raise ApiProblem(401, "unauthenticated", "wrong username or password") from None
        who = issued.principal
        return {
            "token": issued.token,
            "role": who.role,
            "account_id": who.account_id,
            "merchant_id": who.merchant_id,
            "expires_at": issued.expires_at,
        }


@blp.route("/me")
class MeView(MethodView):
    @requires()
    @blp.response(200, Me)
    def get(self):
        """Who the token belongs to."""
        return caller()


@blp.route("/users")
class Users(MethodView):
    @idempotent
    @requires("admin")
    @blp.arguments(NewUser)
    @blp.response(201, UserOut)
    def post(self, body):
        """Create a user (admin).

        A linked ``account_id`` must be a volunteer's or a beneficiary's account (the
        four-eyes rules compare it); it is kept in canonical form (a lower-case UUID).
        Refusals: validation_error, conflict (the username is taken).
        """
        if body.get("account_id") is not None:
            try:
                body["account_id"] = ledger_of().get_member_account(body["account_id"]).id
            except NotFound:
                raise ApiProblem(
                    422,
                    "validation_error",
                    "account_id names no volunteer's or beneficiary's account",
                ) from None
        try:
            user = auth_of().create_user(**body)
        except UserExists:
            raise ApiProblem(409, "conflict", f"the username {body['username']} is taken") from None
        except InvalidUser as error:
            raise ApiProblem(422, "validation_error", str(error)) from None
        return {"username": user.username, "role": user.role}
