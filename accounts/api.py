"""REST API of the accounts app: who am I, and my API tokens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import ApiToken
from .permissions import Perm, user_role
from .services import api_token_create, api_token_revoke


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret. Shown only once.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own API tokens. DELETE revokes (the row stays, for the audit trail)."""

    serializer_class = ApiTokenSerializer
    permission_map = {
        "list": [Perm.API_TOKENS_OWN],
        "retrieve": [Perm.API_TOKENS_OWN],
        "create": [Perm.API_TOKENS_OWN],
        "destroy": [Perm.API_TOKENS_OWN],
    }

    queryset = ApiToken.objects.none()  # for schema generation; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        # Other people's tokens are simply not found (404), never forbidden (403).
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(request=ApiTokenSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = api_token_create(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        body = IssuedTokenSerializer(issued.token).data | {"token": issued.raw}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    def perform_destroy(self, instance):
        api_token_revoke(token=instance)


class MeView(APIView):
    """The authenticated user, their role and permissions."""

    permission_map = {"get": [Perm.API_TOKENS_OWN]}

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "name": serializers.CharField(),
                "email": serializers.EmailField(),
                "role": serializers.CharField(allow_null=True),
                "permissions": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request):
        user = request.user
        perms = sorted(p.value for p in Perm if user.has_perm(f"accounts.{p.value}"))
        role = user_role(user)
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "name": user.display_name,
                "email": user.email,
                "role": role.value if role else None,
                "permissions": perms,
            }
        )
