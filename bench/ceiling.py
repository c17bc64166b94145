"""The ceiling: a bare DRF view that parses the same body as ``/ingest`` and does nothing else.

Its requests/s under the same gunicorn and Django settings is the most any
``/ingest`` implementation could reach on this machine; the benchmark reports
``/ingest`` as a fraction of it. It accepts JSON and text/plain so that both
content types have a like-for-like ceiling.
"""

from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class PlainTextParser(BaseParser):
    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        return stream.read().decode("utf-8")


class CeilingView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [JSONParser, PlainTextParser]

    def post(self, request: Request) -> Response:
        body = request.data
        tenant_id = body.get("tenant_id") if isinstance(body, dict) else request.headers.get("X-Tenant-ID")
        return Response({"status": "accepted", "tenant_id": tenant_id}, status=202)
