"""REST API of file imports and webhook configuration (routes in integrations/api/urls.py)."""

import json

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp_site.api.limits import BIGINT_MAX
from cdp_site.permissions import Cap
from cdp_site.text import UNSTORABLE_MESSAGE, unstorable
from integrations import selectors as integration_selectors
from integrations.imports import selectors, services
from integrations.imports.files import FileError
from integrations.imports.filters import FileImportFilter
from integrations.imports.mapping import Mapping
from integrations.imports.models import FileImport
from integrations.webhooks import services as webhooks
from integrations.webhooks.mapping import RuleError, parse_rules
from integrations.webhooks.models import WebhookConfig

INTEGRATIONS = (Cap.VIEW_INTEGRATIONS, Cap.MANAGE_INTEGRATIONS)


class MappingField(serializers.JSONField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if isinstance(data, str):  # multipart: the mapping arrives as JSON text
            try:
                data = json.loads(data)
            except ValueError:
                raise serializers.ValidationError("Send the mapping as a JSON object.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send the mapping as a JSON object.")
        if unstorable(data):
            raise serializers.ValidationError(UNSTORABLE_MESSAGE)
        return Mapping.from_dict(data)


class FileImportSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="source_id", read_only=True)

    class Meta:
        model = FileImport
        fields = [
            "id",
            "source",
            "original_name",
            "format",
            "delimiter",
            "size_bytes",
            "sha256",
            "columns",
            "rows_estimate",
            "status",
            "mapping",
            "bytes_done",
            "rows_done",
            "stored",
            "duplicates",
            "error_count",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
            "file_deleted_at",
        ]
        read_only_fields = fields


class FileUploadSerializer(serializers.Serializer):
    source = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    file = serializers.FileField()


def _source_and_file(request, serializer_class) -> tuple:
    """The upload's source (404 when unknown), its file and its other fields, validated."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    source = get_object_or_404(integration_selectors.sources(), pk=data.validated_data["source"])
    return source, data.validated_data["file"], data.validated_data


class UploadSerializer(FileUploadSerializer):
    mapping = MappingField(required=False)
    start = serializers.BooleanField(required=False, default=False)


class StartSerializer(serializers.Serializer):
    mapping = MappingField(required=False)


def _start(file_import: FileImport, mapping: Mapping | None) -> None:
    mapping = mapping or selectors.saved_mapping(source=file_import.source)
    if mapping is None:
        raise serializers.ValidationError({"mapping": ["This source has no saved mapping yet."]})
    try:
        services.start_import(file_import=file_import, mapping=mapping)
    except services.MappingInvalid as exc:
        raise serializers.ValidationError({"mapping": list(exc.problems.values())}) from None
    except services.ImportStateError as exc:
        raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None


class ImportListView(generics.ListAPIView):
    """File imports, newest first (``?source=``). POST (multipart) uploads a file.

    With ``mapping`` (JSON) or ``start=true`` (the source's saved mapping) the import
    starts at once; otherwise it waits for POST /imports/{id}/start.
    """

    required_capability = INTEGRATIONS
    serializer_class = FileImportSerializer
    parser_classes = [MultiPartParser, FormParser]

    filterset_class = FileImportFilter

    def get_queryset(self):
        return selectors.imports()

    @extend_schema(request=UploadSerializer, responses={201: FileImportSerializer})
    def post(self, request):
        source, uploaded, values = _source_and_file(request, UploadSerializer)
        try:
            created = services.import_upload(source=source, uploaded=uploaded, user=request.user)
        except FileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from None
        mapping = values.get("mapping")
        if mapping is not None or values["start"]:
            _start(created, mapping)
            created.refresh_from_db()
        return Response(FileImportSerializer(created).data, status=status.HTTP_201_CREATED)


class ImportDetailView(generics.RetrieveAPIView):
    """One import: status and progress (poll it), columns, counts."""

    required_capability = INTEGRATIONS
    serializer_class = FileImportSerializer

    def get_queryset(self):
        return selectors.imports()


class ImportStartView(APIView):
    """Starts an uploaded import with ``mapping`` (or the source's saved mapping)."""

    required_capability = INTEGRATIONS
    parser_classes = [JSONParser]

    @extend_schema(request=StartSerializer, responses=FileImportSerializer)
    def post(self, request, pk: int):
        file_import = get_object_or_404(selectors.imports(), pk=pk)
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _start(file_import, data.validated_data.get("mapping"))
        file_import.refresh_from_db()
        return Response(FileImportSerializer(file_import).data)


class ImportErrorsView(APIView):
    """Errors by line number: the first ones kept, and the total count."""

    required_capability = INTEGRATIONS

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        file_import = get_object_or_404(selectors.imports(), pk=pk)
        return Response({"count": file_import.error_count, "errors": file_import.errors})


class ProductImportView(APIView):
    """POST (multipart: ``source``, ``file``) imports a product file into the source's
    catalogue (columns sku, name, category, price, image, in stock; sku and name required).
    It starts at once; poll GET /imports/{id} and read the bad rows by line at
    /imports/{id}/errors."""

    required_capability = INTEGRATIONS
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=FileUploadSerializer, responses={201: FileImportSerializer})
    def post(self, request):
        source, uploaded, _ = _source_and_file(request, FileUploadSerializer)
        try:
            created = services.import_products(
                source=source,
                chunks=uploaded.chunks(),
                original_name=uploaded.name,
                user=request.user,
            )
        except FileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from None
        except services.MappingInvalid as exc:
            raise serializers.ValidationError({"file": list(exc.problems.values())}) from None
        return Response(FileImportSerializer(created).data, status=status.HTTP_201_CREATED)


class WebhookSerializer(serializers.ModelSerializer):
    """A source's webhook; never its secret (see WebhookSecretSerializer)."""

    url = serializers.SerializerMethodField()
    rules = serializers.JSONField(required=False)

    class Meta:
        model = WebhookConfig
        fields = ["url", "token", "require_signature", "kind", "rules", "updated_at"]
        read_only_fields = ["url", "token", "updated_at"]

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = reverse("webhook-receive", args=[obj.token])
        return request.build_absolute_uri(path) if request else path

    def validate_rules(self, value):
        try:
            if isinstance(value, str):
                return parse_rules(value)
            if not isinstance(value, list):
                raise RuleError("rules is a list of {target, path} or a text of lines.")
            text = "\n".join(
                f"{r['target']} = " + (r["path"] if "path" in r else f'"{r["value"]}"')
                for r in value
            )
            return parse_rules(text)
        except (RuleError, KeyError, TypeError) as exc:
            raise serializers.ValidationError(str(exc)) from None


class WebhookSecretSerializer(WebhookSerializer):
    """The answer that created the webhook or rotated its secret: the only one with the
    secret (null otherwise). It is stored encrypted and never returned again."""

    secret = serializers.SerializerMethodField()

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]

    def get_secret(self, obj) -> str | None:
        return self.context.get("secret")


class SourceWebhookView(APIView):
    """A source's inbound webhook. POST creates it (or updates it); ``rotate=true`` rotates
    the secret. The secret is in the answer that created or rotated it, and nowhere else."""

    required_capability = INTEGRATIONS

    def _source(self, pk):
        return get_object_or_404(integration_selectors.sources(), pk=pk)

    @extend_schema(responses=WebhookSerializer)
    def get(self, request, pk: int):
        config = get_object_or_404(WebhookConfig, source=self._source(pk))
        return Response(WebhookSerializer(config, context={"request": request}).data)

    @extend_schema(request=WebhookSerializer, responses=WebhookSecretSerializer)
    def post(self, request, pk: int):
        config, secret = webhooks.enable_webhook(source=self._source(pk))
        data = WebhookSerializer(config, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        webhooks.update_webhook(
            config=config,
            kind=values.get("kind", config.kind),
            require_signature=values.get("require_signature", config.require_signature),
            rules=values.get("rules", config.rules),
        )
        if str(request.data.get("rotate", "")).lower() in ("1", "true"):
            secret = webhooks.rotate_secret(config=config)
        context = {"request": request, "secret": secret}
        response = Response(WebhookSecretSerializer(config, context=context).data)
        if secret:
            patch_cache_control(response, no_store=True)
        return response
