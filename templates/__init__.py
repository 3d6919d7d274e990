"""Jinja2 templates and the bundle's ``verify.py``, installed as package data of ``engine.templates``.

A regular package (not a bare folder) so ``importlib.resources.files`` finds
the templates the same way in an editable install, a wheel and a zip.
"""
