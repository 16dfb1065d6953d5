"""The demo catalog `seed_demo` creates: a small shop with realistic targets."""

from __future__ import annotations

TEAMS = [
    {
        "slug": "payments",
        "name": "Payments",
        "slack_channel": "#payments-oncall",
        "email": "payments@example.com",
    },
    {
        "slug": "storefront",
        "name": "Storefront",
        "slack_channel": "#storefront",
        "email": "storefront@example.com",
    },
    {
        "slug": "platform",
        "name": "Platform",
        "slack_channel": "#platform-oncall",
        "email": "platform@example.com",
    },
]

GROUPS = [
    {"slug": "customer-facing", "name": "Customer-facing", "position": 1},
    {"slug": "backend", "name": "Backend", "position": 2},
    {"slug": "infrastructure", "name": "Infrastructure", "position": 3},
]

SERVICES = [
    {
        "slug": "checkout",
        "name": "Checkout",
        "group": "customer-facing",
        "team": "storefront",
        "component_name": "Checkout",
        "position": 1,
        "description": "Cart, checkout flow and order confirmation pages.",
        "targets": [
            (
                "checkout-web",
                "kubernetes",
                {
                    "namespace": "shop",
                    "deployment": "checkout-web",
                    "label_selector": "app=checkout-web",
                    "service": "checkout-web",
                },
            ),
            (
                "checkout-health",
                "http",
                {
                    "url": "https://checkout.example.com/healthz",
                    "expected_status": 200,
                    "timeout_s": 3,
                },
            ),
            (
                "checkout-sessions",
                "redis",
                {"url_env": "CHECKOUT_REDIS_URL", "memory_warning_percent": 85},
            ),
            # Targets with something real behind them in the demo: the portal's own health
            # endpoint, and its own database and Redis when DATABASE_URL / REDIS_URL are set.
            # "{portal}" is the URL `make run` serves on (seed_demo fills it in).
            ("demo-portal-health", "http", {"url": "{portal}/health", "timeout_s": 3}),
            ("demo-portal-db", "postgres", {"dsn_env": "DATABASE_URL"}),
            ("demo-portal-redis", "redis", {"url_env": "REDIS_URL"}),
        ],
    },
    {
        "slug": "payments",
        "name": "Payments",
        "group": "customer-facing",
        "team": "payments",
        "component_name": "Card payments",
        "position": 2,
        "description": "Payment authorisation, capture and refunds via the card processor.",
        "targets": [
            (
                "payments-api",
                "kubernetes",
                {
                    "namespace": "payments",
                    "deployment": "payments-api",
                    "label_selector": "app=payments-api,tier=backend",
                    "service": "payments-api",
                },
            ),
            ("payments-db", "postgres", {"dsn_env": "PAYMENTS_DB_DSN", "slow_query_seconds": 10}),
            (
                "payments-events",
                "kafka",
                {
                    "bootstrap_servers": ["kafka-0.kafka:9092", "kafka-1.kafka:9092"],
                    "topics": ["payments.authorised", "payments.captured"],
                    "consumer_groups": ["ledger-writer", "fraud-scorer"],
                    "lag_warning": 5000,
                },
            ),
            (
                "payments-health",
                "http",
                {"url": "https://payments.internal.example.com/health", "expected_status": 200},
            ),
        ],
    },
    {
        "slug": "search",
        "name": "Search",
        "group": "customer-facing",
        "team": "storefront",
        "component_name": "Product search",
        "position": 3,
        "description": "Product search and autocomplete.",
        "targets": [
            (
                "search-api",
                "kubernetes",
                {"namespace": "shop", "deployment": "search-api", "service": "search-api"},
            ),
            ("search-cache", "redis", {"url_env": "SEARCH_REDIS_URL"}),
            (
                "search-health",
                "http",
                {"url": "https://search.example.com/health", "body_contains": '"status":"ok"'},
            ),
        ],
    },
    {
        "slug": "orders",
        "name": "Orders",
        "group": "backend",
        "team": "payments",
        "component_name": "Order processing",
        "position": 1,
        "description": "Order creation, fulfilment events and order history.",
        "targets": [
            (
                "orders-api",
                "kubernetes",
                {
                    "namespace": "orders",
                    "deployment": "orders-api",
                    "label_selector": "app=orders-api",
                },
            ),
            ("orders-db", "postgres", {"dsn_env": "ORDERS_DB_DSN"}),
            (
                "orders-events",
                "kafka",
                {
                    "bootstrap_servers": ["kafka-0.kafka:9092"],
                    "topics": ["orders.created", "orders.dead-letter"],
                    "consumer_groups": ["fulfilment", "email-sender"],
                },
            ),
        ],
    },
    {
        "slug": "notifications-email",
        "name": "Email delivery",
        "group": "backend",
        "team": "platform",
        "component_name": "Email notifications",
        "position": 2,
        "description": "Transactional email sending (order confirmations, receipts).",
        "targets": [
            ("mailer", "kubernetes", {"namespace": "platform", "deployment": "mailer"}),
        ],
    },
    {
        "slug": "api-gateway",
        "name": "API gateway",
        "group": "infrastructure",
        "team": "platform",
        "component_name": "Public API",
        "position": 1,
        "description": "Edge routing, TLS and rate limiting for all public traffic.",
        "targets": [
            (
                "gateway",
                "kubernetes",
                {
                    "namespace": "edge",
                    "deployment": "gateway",
                    "label_selector": "app in (gateway,gateway-canary)",
                },
            ),
            (
                "gateway-health",
                "http",
                {"url": "https://api.example.com/ping", "method": "HEAD", "expected_status": 204},
            ),
        ],
    },
    {
        "slug": "internal-admin",
        "name": "Back office",
        "group": "infrastructure",
        "team": "platform",
        "component_name": "",
        "position": 2,
        "show_on_status_page": False,
        "description": "Internal admin tools for support staff (not on the status page).",
        "targets": [],
    },
]
