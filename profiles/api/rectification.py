"""REST API of trait corrections made by hand (profiles/rectification.py), mounted at
/api/v1/profiles/<id>/traits/<key>/rectify/: GET the trait's corrections (newest first),
POST {value, reason} corrects it, DELETE removes the standing correction."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.permissions import Cap
from profiles import rectification
from profiles.models import TraitRectification

from .views import active_profile


class RectificationSerializer(serializers.ModelSerializer):
    set_by = serializers.EmailField(source="set_by.email", read_only=True, allow_null=True)
    removed_by = serializers.EmailField(source="removed_by.email", read_only=True, allow_null=True)

    class Meta:
        model = TraitRectification
        fields = [
            "id",
            "key",
            "value",
            "previous_value",
            "reason",
            "set_by",
            "set_at",
            "removed_by",
            "removed_at",
        ]
        read_only_fields = fields


class RectifyInputSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="The correct value, of the trait's type.")
    reason = serializers.CharField(max_length=1000, help_text="Why it is corrected.")


def _refused(error: rectification.RectificationError) -> exceptions.ValidationError:
    fields: dict[str, list[str]] = {}
    for problem in error.errors:
        fields.setdefault(problem["field"] or "non_field_errors", []).append(problem["message"])
    return exceptions.ValidationError(fields)


class RectifyView(APIView):
    """A trait's corrections made by hand; POST corrects its value (it then stays current
    whatever the sources send, until removed), DELETE removes the standing correction."""

    required_capability = (Cap.VIEW_PROFILES, Cap.MANAGE_PROFILES)

    @extend_schema(responses=RectificationSerializer(many=True))
    def get(self, request, pk: int, key: str):
        profile = active_profile(pk)
        rows = rectification.history_of(profile_id=profile.pk).get(key, [])
        return Response(RectificationSerializer(rows, many=True).data)

    @extend_schema(request=RectifyInputSerializer, responses={201: RectificationSerializer})
    def post(self, request, pk: int, key: str):
        profile = active_profile(pk)
        data = RectifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            row = rectification.rectify_trait(
                profile_id=profile.pk, key=key, actor=request.user, **data.validated_data
            )
        except rectification.RectificationError as error:
            raise _refused(error) from error
        return Response(RectificationSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int, key: str):
        profile = active_profile(pk)
        try:
            rectification.end_rectification(profile_id=profile.pk, key=key, actor=request.user)
        except rectification.RectificationError as error:
            raise _refused(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)
