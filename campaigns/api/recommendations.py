"""REST API of the product catalogue (read) and a person's recommendations; routes in
campaigns/api/urls.py. Product imports are integrations' (POST /api/v1/catalog/imports)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.filters import ProductFilter
from campaigns.recommendations import selectors
from cdp_site.permissions import Cap
from integrations.catalog import selectors as catalog
from integrations.catalog.models import Product
from profiles import selectors as profile_selectors


class ProductSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="source_id", read_only=True)
    offered = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id", "source", "external_id", "product_id", "sku", "name", "category", "price",
            "currency", "image_url", "url", "in_stock", "active", "deleted_at", "updated_at",
            "offered",
        ]  # fmt: skip
        read_only_fields = fields

    def get_offered(self, obj) -> bool:
        """Whether recommendations and templates may offer it."""
        return obj.active and obj.in_stock and obj.deleted_at is None


class ProductListView(generics.ListAPIView):
    """The product catalogue, newest first (``q``: name or SKU, ``category``, ``state``:
    offered, out_of_stock, inactive, deleted)."""

    required_capability = Cap.VIEW_CAMPAIGNS
    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return catalog.products()


class ProductDetailView(generics.RetrieveAPIView):
    required_capability = Cap.VIEW_CAMPAIGNS
    serializer_class = ProductSerializer

    def get_queryset(self):
        return catalog.products()


class RecommendedProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    price = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    image_url = serializers.CharField()
    url = serializers.CharField()
    kind = serializers.ChoiceField(choices=selectors.KINDS)


class RecommendationQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=selectors.KINDS, required=False)
    limit = serializers.IntegerField(
        min_value=1, max_value=selectors.MAX_LIMIT, default=selectors.DEFAULT_LIMIT
    )


class RecommendationAnswer(serializers.Serializer):
    profile = serializers.IntegerField()
    kind = serializers.CharField(allow_null=True)
    products = RecommendedProductSerializer(many=True)


class RecommendationsView(APIView):
    """A person's recommended products, best first: of one ``kind`` (bought_together,
    popular_in_category, viewed_not_bought) or of every kind merged; at most ``limit``
    (1 to 10, default 5). Only products still offered, never one they bought. A merged
    person answers with their survivor's (``profile`` says which)."""

    required_capability = Cap.VIEW_CAMPAIGNS

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=list(selectors.KINDS)),
            OpenApiParameter("limit", int),
        ],
        responses=RecommendationAnswer,
    )
    def get(self, request, profile_id: int):
        query = RecommendationQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        active = profile_selectors.active_profile_id(profile_id=profile_id)
        if active is None:
            raise Http404("No such profile.")
        kind = query.validated_data.get("kind")
        products = selectors.recommendations_for(
            profile_id=active, kind=kind, limit=query.validated_data["limit"]
        )
        answer = {"profile": active, "kind": kind, "products": products}
        return Response(RecommendationAnswer(answer).data)
