"""The GraphQL Admin API queries the Shopify connector sends, and their page sizes.

One query may cost at most 1,000 points (Shopify's single-query limit), and a connection
costs about ``first × (1 + what each node nests)``: customers page by 100; orders and
products nest line items or variants, so they page by 20 and 25 to stay well under it.
Every list is sorted by UPDATED_AT and filtered with ``query: "updated_at:>='…'"``.
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

ORDERS = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email createdAt processedAt updatedAt cancelledAt test displayFinancialStatus
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      currentTotalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 30) {
        nodes {
          id name sku quantity
          variant { id }
          product { id productType }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
        }
      }
      refunds(first: 10) { id createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
    }
  }
}
"""

PRODUCTS = """
query Products($first: Int!, $after: String, $query: String) {
  shop { currencyCode }
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id title productType status updatedAt onlineStoreUrl
      featuredMedia { preview { image { url } } }
      variants(first: __VARIANTS__) {
        pageInfo { hasNextPage }
        nodes { id sku title price availableForSale }
      }
    }
  }
}
"""

VARIANTS_PER_PRODUCT = 30
PRODUCTS = PRODUCTS.replace("__VARIANTS__", str(VARIANTS_PER_PRODUCT))

SHOP = "query Shop { shop { name currencyCode } }"

# stream → (query, root field, page size)
STREAMS = {
    "customers": (CUSTOMERS, "customers", 100),
    "orders": (ORDERS, "orders", 20),
    "products": (PRODUCTS, "products", 25),
}
