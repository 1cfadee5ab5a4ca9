"""The people's web pages (SPEC §10): each role's pages a Blueprint of its own, under one
parent blueprint ``web`` that carries what they share (api/web/hooks.py);
:func:`api.web.blueprints.register_pages` puts them on the app."""
