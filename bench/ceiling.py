"""The single-log ceiling: a DRF view that parses the same JSON as ``/ingest`` and does nothing else.

It is served twice in a benchmark run: inside the service's own settings
(``bench/urls.py``: the "middleware" ceiling, carrying every middleware of the
service) and in the bare project (``bench/bare/``: the "no-middleware" ceiling,
``rest_framework`` alone). The benchmark reports ``/ingest`` and the middleware
ceiling as fractions of the no-middleware one. It imports nothing of the service.
"""

from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class CeilingView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        return Response({"status": "accepted", "tenant_id": request.data.get("tenant_id")}, status=202)
