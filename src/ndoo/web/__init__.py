"""The web service: the citizen journey, the staff console and the JSON API (FastAPI).

A thin layer, like the CLI: routes parse the request, call library functions of the
capabilities, and render a page or its JSON twin.  :func:`ndoo.web.app.create_app`
builds the application.
"""
