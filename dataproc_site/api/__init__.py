"""What every JSON route shares: the view base, the error rendering, the OpenAPI building blocks."""
