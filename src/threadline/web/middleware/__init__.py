"""Pure-ASGI middlewares, one job each (streamed responses pass through unbuffered). ``web/app.py``
stacks them, outermost first:

    MetricsMiddleware          web/metrics.py: counts and times every request, answers the scraper
    SecurityHeadersMiddleware  headers.py: CSP and friends on every answer, ``no-store`` on JSON
    GZipMiddleware             Starlette's: JSON and pages over 1 KB, never event streams or archives
    HostCheckMiddleware        hosts.py: DNS-rebinding guard while open on loopback
    AuthenticationMiddleware   authentication.py: the login cookie, 401 or a redirect to /login
    CSRFMiddleware             csrf.py: origin checks and the page token on requests that change state
    BodyLimitMiddleware        web/errors.py: 413 for a body over THREADLINE_MAX_BODY_BYTES
"""
