"""The GraphQL Admin API queries the Shopify connector sends, and their page sizes.

One query may cost at most 1,000 points (Shopify's single-query limit), and a connection
costs about ``first × (1 + what each node nests)``: customers page by 100; orders and
products nest line items or variants, so they page by 20 and 25 to stay well under it.
Every list is sorted by UPDATED_AT and filtered with ``query: "updated_at:>='…'"``.

A nested connection (an order's line items, a product's variants) holds its first 30 in
the page; an order or product with more is completed by ``NESTED``'s follow-up query,
100 at a time from the nested ``endCursor``.
"""

CUSTOMERS = """
query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName createdAt updatedAt tags numberOfOrders
      amountSpent { amount currencyCode }
      defaultEmailAddress { emailAddress marketingState }
      defaultPhoneNumber { phoneNumber marketingState }
    }
  }
}
"""

LINE_ITEM = """
id name sku quantity
variant { id }
product { id productType }
originalUnitPriceSet { shopMoney { amount currencyCode } }
"""

ORDERS = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email createdAt processedAt updatedAt cancelledAt test displayFinancialStatus
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      currentTotalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 30) { pageInfo { hasNextPage endCursor } nodes { __LINE_ITEM__ } }
      refunds(first: 10) { id createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
    }
  }
}
""".replace("__LINE_ITEM__", LINE_ITEM)

VARIANT = "id sku title price availableForSale"

PRODUCTS = """
query Products($first: Int!, $after: String, $query: String) {
  shop { currencyCode }
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id title productType status updatedAt onlineStoreUrl
      featuredMedia { preview { image { url } } }
      variants(first: 30) { pageInfo { hasNextPage endCursor } nodes { __VARIANT__ } }
    }
  }
}
""".replace("__VARIANT__", VARIANT)


def _rest_of(name: str, root: str, field: str, fields: str) -> str:
    """The query of one order's (product's) nested items past what its page held."""
    return (
        f"query {name}($id: ID!, $after: String) {{ {root}(id: $id) {{ "
        f"{field}(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} "
        f"nodes {{ {fields} }} }} }} }}"
    )


ORDER_LINE_ITEMS = _rest_of("OrderLineItems", "order", "lineItems", LINE_ITEM)
PRODUCT_VARIANTS = _rest_of("ProductVariants", "product", "variants", VARIANT)

# Products deleted since a time: the shop's events of action "destroy" on a product (the
# deletion leaves nothing else to read). Kept for a year by Shopify.
PRODUCT_DELETIONS = """
query ProductDeletions($first: Int!, $after: String, $query: String) {
  events(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id action createdAt ... on BasicEvent { subjectId subjectType } }
  }
}
"""
DELETIONS_PAGE = 100

SHOP = "query Shop { shop { name currencyCode } }"

# stream → (the nested connection, the follow-up query, its root field)
NESTED = {
    "orders": ("lineItems", ORDER_LINE_ITEMS, "order"),
    "products": ("variants", PRODUCT_VARIANTS, "product"),
}

# stream → (query, root field, page size)
STREAMS = {
    "customers": (CUSTOMERS, "customers", 100),
    "orders": (ORDERS, "orders", 20),
    "products": (PRODUCTS, "products", 25),
}
