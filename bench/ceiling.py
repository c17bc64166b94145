"""The ceiling: a bare DRF view that parses the same JSON as ``/ingest`` and does nothing else.

Its requests/s under the same gunicorn and Django settings (middleware included)
is the most any ``/ingest`` implementation could reach on this machine; the
benchmark reports ``/ingest`` as a fraction of it.
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
